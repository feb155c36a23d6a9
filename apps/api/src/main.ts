import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig } from '@dllm/shared';
import { AppModule } from './app.module';
import { configureApp } from './app.setup';
import { createLogger, PinoNestLogger } from './common/logger';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  const app = await NestFactory.create(AppModule.forRoot(config, logger), {
    bodyParser: false, // configureApp installs its own (batch uploads are streamed by their route)
    logger: new PinoNestLogger(logger),
  });
  configureApp(app, config, logger);
  await app.listen(config.API_PORT, config.API_HOST);
  logger.info(
    { host: config.API_HOST, port: config.API_PORT, model_dir: config.MODEL_DIR },
    'api listening',
  );
}

bootstrap().catch((error: unknown) => {
  // A bad configuration is a message for the operator, not a stack trace.
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
