import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { HttpRequest } from '../common/http';

import type { Principal } from '../common/principal';

// common/ is the API's ground floor: the type lives there, auth/ builds on it.
export type { Principal };

export type AuthedRequest = HttpRequest;

export const ACCESS = 'dllm:access';
export type Access = 'public' | 'admin' | 'tenant';

/** No key needed (health, readiness, metrics). */
export const Public = () => SetMetadata(ACCESS, 'public' satisfies Access);
/** Only the ADMIN_API_KEY. */
export const AdminOnly = () => SetMetadata(ACCESS, 'admin' satisfies Access);

/** The caller, as the AuthGuard established it. */
export const CurrentPrincipal = createParamDecorator(
  (_: unknown, ctx: ExecutionContext): Principal => {
    const principal = ctx.switchToHttp().getRequest<AuthedRequest>().principal;
    if (!principal) throw new Error('route has no principal: is it marked @Public()?');
    return principal;
  },
);
