import { Module } from '@nestjs/common';
import { RedisModule } from '../redis/redis.module';
import { BatchEventReader } from './batch-event-reader';

/** The reading end of the live event path: one blocking reader per API process. */
@Module({
  imports: [RedisModule],
  providers: [BatchEventReader],
  exports: [BatchEventReader],
})
export class EventsModule {}
