import { Module, type DynamicModule } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import type { Logger } from 'pino';
import { AuthModule } from './auth/auth.module';
import { BatchesModule } from './batches/batches.module';
import { CoreModule } from './common/core.module';
import { ShutdownGrace } from './common/shutdown-grace';
import { DatabaseModule } from './database/database.module';
import { FilesModule } from './files/files.module';
import { HealthController } from './health/health.controller';
import { LimitsModule } from './limits/limits.module';
import { MetricsModule } from './metrics/metrics.module';
import { ModelModule } from './model/model.module';
import { OpenAiModule } from './openai/openai.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { RedisModule } from './redis/redis.module';
import { RetentionModule } from './retention/retention.module';

@Module({})
export class AppModule {
  /** The whole API for one configuration (main.ts and the e2e tests build it the same way). */
  static forRoot(config: Config, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config, logger),
        DatabaseModule,
        RedisModule,
        MetricsModule,
        ModelModule,
        AuthModule,
        LimitsModule,
        BatchesModule,
        FilesModule,
        OpenAiModule,
        WebhooksModule,
        RetentionModule,
      ],
      controllers: [HealthController],
      providers: [ShutdownGrace],
    };
  }
}
