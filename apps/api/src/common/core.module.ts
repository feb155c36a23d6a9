import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import type { Logger } from 'pino';

/** Injection token of the validated Config (read once at start-up). */
export const CONFIG = Symbol('CONFIG');
/** Injection token of the process's pino logger. */
export const LOGGER = Symbol('LOGGER');

/** Process-wide values every module may inject: the configuration and the logger. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: Config, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
      ],
      exports: [CONFIG, LOGGER],
    };
  }
}
