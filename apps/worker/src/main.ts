import { loadConfig } from '@dllm/shared';
import pino from 'pino';

function main(): void {
  const config = loadConfig();
  const logger = pino({ level: config.LOG_LEVEL });
  logger.info(
    { model: config.MODEL_DIR, providers: config.ENGINE_EXECUTION_PROVIDERS },
    'worker starting',
  );

  // Keeps the process alive until the orchestrator stops it; the queue consumer takes this role later.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const stop = (signal: NodeJS.Signals): void => {
    logger.info({ signal }, 'worker stopping');
    clearInterval(keepAlive);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

try {
  main();
} catch (error) {
  console.error(error);
  process.exit(1);
}
