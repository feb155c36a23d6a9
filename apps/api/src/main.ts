import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@dllm/shared';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  await app.listen(config.API_PORT);
}

bootstrap().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
