import { Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { RedisModule } from '../redis/redis.module';
import { AdminController } from './admin.controller';
import { AdminThrottle } from './admin-throttle';
import { ApiKeysRepository } from './api-keys.repository';
import { ApiKeysService } from './api-keys.service';
import { AuthGuard } from './auth.guard';
import { KeyRevocations } from './key-revocations';
import { RevocationInterceptor } from './revocation.interceptor';

@Module({
  imports: [RedisModule],
  controllers: [AdminController],
  providers: [
    ApiKeysRepository,
    ApiKeysService,
    KeyRevocations,
    AdminThrottle,
    { provide: APP_GUARD, useClass: AuthGuard },
    { provide: APP_INTERCEPTOR, useClass: RevocationInterceptor },
  ],
  exports: [ApiKeysService, KeyRevocations],
})
export class AuthModule {}
