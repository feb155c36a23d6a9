import { Module } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import { DataSource } from 'typeorm';
import { CONFIG } from '../common/core.module';
import { DatabaseModule } from '../database/database.module';
import { EventsModule } from '../events/events.module';
import { FileStorage } from './file-store';
import { FilesController } from './files.controller';
import { FilesRepository } from './files.repository';
import { FilesService } from './files.service';
import { FILE_STORE } from './files.tokens';
import { ResultFileMaker } from './result-file-maker';
import { ResultFiles } from './result-files';

@Module({
  imports: [DatabaseModule, EventsModule],
  controllers: [FilesController],
  providers: [
    FilesService,
    FilesRepository,
    ResultFiles,
    ResultFileMaker,
    {
      provide: FILE_STORE,
      inject: [DataSource, CONFIG],
      useFactory: (dataSource: DataSource, config: Config) =>
        new FileStorage(dataSource, config.FILES_DIR),
    },
  ],
  exports: [FilesService, ResultFiles, FILE_STORE],
})
export class FilesModule {}
