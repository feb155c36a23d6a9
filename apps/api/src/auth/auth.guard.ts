import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '../common/api-error';
import { AdminThrottle } from './admin-throttle';
import { ApiKeysService } from './api-keys.service';
import { ACCESS, type Access, type AuthedRequest } from './principal';

/**
 * Global guard: every route needs `Authorization: Bearer <key>` unless marked @Public();
 * @AdminOnly() routes need the ADMIN_API_KEY (wrong ones are throttled per client address).
 * Failures are 401 with the reason.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
    private readonly throttle: AdminThrottle,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access =
      this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [
        context.getHandler(),
        context.getClass(),
      ]) ?? 'tenant';
    if (access === 'public') return true;
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const key = bearerKey(request.headers.authorization);
    if (access === 'admin') {
      const client = request.socket.remoteAddress ?? 'unknown';
      await this.throttle.check(client);
      if (!this.keys.isAdminKey(key)) {
        await this.throttle.failed(client);
        throw ApiError.unauthorized('this route needs the admin API key');
      }
      return true;
    }
    request.principal = await this.keys.authenticate(key);
    return true;
  }
}

function bearerKey(header: string | undefined): string {
  if (!header)
    throw ApiError.unauthorized('missing Authorization header (expected "Bearer <api key>")');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw ApiError.unauthorized('Authorization header must be "Bearer <api key>"');
  return match[1]!;
}
