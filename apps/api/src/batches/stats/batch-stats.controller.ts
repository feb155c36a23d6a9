import { Controller, Get, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../../auth/principal';
import { BatchesService } from '../batches.service';
import { BatchStatsService } from './batch-stats.service';

@ApiTags('batches')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'missing, invalid or revoked API key' })
@Controller('v1/batches')
export class BatchStatsController {
  constructor(
    private readonly batches: BatchesService,
    private readonly stats: BatchStatsService,
  ) {}

  @Get(':id/stats')
  @ApiOperation({
    summary:
      'Charts of a batch: throughput over time, forwards per item and compute time histograms',
    description:
      '`throughput.points[]`: `{t` (seconds since the first item started), `items`, `tokens`, `tokens_per_second}` per ' +
      '`bucket_seconds`, by the time completed items were written. Histograms count completed items per bin ' +
      '`{from, to, count}` (inclusive bounds).',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiResponse({ status: 404, description: 'no such batch for this API key' })
  async get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.stats.forBatch(await this.batches.owned(principal, id));
  }
}
