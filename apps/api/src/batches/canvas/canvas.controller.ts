import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../../auth/principal';
import type { HttpRequest, HttpResponse } from '../../common/http';
import { LimitConcurrency } from '../../limits/limit-concurrency.decorator';
import { BatchesService } from '../batches.service';
import { CanvasStream } from './canvas-stream';

@ApiTags('batches')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'missing, invalid or revoked API key' })
@Controller('v1/batches')
export class CanvasController {
  constructor(
    private readonly batches: BatchesService,
    private readonly canvases: CanvasStream,
  ) {}

  @Get(':id/canvas')
  @LimitConcurrency('canvases')
  @ApiOperation({
    summary:
      'Intermediate canvases as server-sent events (items submitted with intermediate_every > 0)',
    description:
      '`canvas` events `{index, step, text, masked}` (text shows masked positions as ▒), one per report, from the ' +
      'first step (a late client still gets every frame kept: the last 20,000, for CANVAS_RETENTION_S after the last); then `done` with the ' +
      'batch. Send Last-Event-ID to resume.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 404, description: 'no such batch for this API key' })
  @ApiResponse({ status: 410, description: 'canvases expired (CANVAS_RETENTION_S after the end)' })
  @ApiResponse({ status: 429, description: 'MAX_CANVAS_STREAMS of this key already open' })
  async canvas(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Req() req: HttpRequest,
    @Res() res: HttpResponse,
  ): Promise<void> {
    await this.canvases.relay(await this.batches.withCanvases(principal, id), req, res);
  }
}
