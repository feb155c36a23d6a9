import { Module } from '@nestjs/common';
import { FilesModule } from '../files/files.module';
import { RedisModule } from '../redis/redis.module';
import { RetentionSweeper } from './retention-sweeper';

/** Retention: the cleanup job that deletes expired files and results. */
@Module({
  imports: [FilesModule, RedisModule],
  providers: [RetentionSweeper],
  exports: [RetentionSweeper],
})
export class RetentionModule {}
