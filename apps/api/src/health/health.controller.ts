import { Controller, Get } from '@nestjs/common';

@Controller()
export class HealthController {
  /** Liveness: answers as long as the process serves HTTP. */
  @Get('healthz')
  check(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
