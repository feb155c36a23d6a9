import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { RedisModule } from '../redis/redis.module';
import { ConcurrencySlots } from './key-slots';
import { LimitsInterceptor } from './limits.interceptor';

/** Per-key request rate and concurrency limits on every tenant route. */
@Module({
  imports: [RedisModule],
  providers: [ConcurrencySlots, { provide: APP_INTERCEPTOR, useClass: LimitsInterceptor }],
  exports: [ConcurrencySlots],
})
export class LimitsModule {}
