import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import type { HttpRequest, HttpResponse } from '../common/http';
import { CONCURRENCY, type ConcurrencyKind } from '../limits/limit-concurrency.decorator';
import { KeyRevocations } from './key-revocations';

/** The long-lived routes a revocation must cut short (an upload ends on its own, soon). */
const LONG_LIVED = new Set<ConcurrencyKind>(['streams', 'canvases', 'completions']);

/** Registers every long-lived request of an API key with KeyRevocations. */
@Injectable()
export class RevocationInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly revocations: KeyRevocations,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const key = req.principal?.apiKeyId;
    const kind = this.reflector.get<ConcurrencyKind | undefined>(CONCURRENCY, context.getHandler());
    if (key && kind && LONG_LIVED.has(kind))
      this.revocations.track(key, req, context.switchToHttp().getResponse<HttpResponse>());
    return next.handle();
  }
}
