import { Controller, Headers, Param, Post, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../../auth/principal';
import type { HttpResponse } from '../../common/http';
import { BatchRetryService } from './batch-retry.service';

@ApiTags('batches')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'missing, invalid or revoked API key' })
@Controller('v1/batches')
export class BatchRetryController {
  constructor(private readonly retries: BatchRetryService) {}

  @Post(':id/retry')
  @ApiOperation({
    summary: "Retry an ended batch's failed and expired items as a new batch",
    description:
      'The new batch has the same model, parameters, metadata and completion window, and only the failed and ' +
      'expired items, with the same custom_id, input and parameters, renumbered from 0 in their order. ' +
      'It shows `retry_of`; the retried batch shows it as `retried_by`.',
  })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'same key: the same retry batch (200)',
  })
  @ApiResponse({ status: 201, description: 'the retry batch' })
  @ApiResponse({ status: 200, description: 'Idempotency-Key replay; the retry batch made earlier' })
  @ApiResponse({ status: 404, description: 'no such batch for this API key' })
  @ApiResponse({
    status: 409,
    description:
      'the batch has not ended (batch_not_ended), has nothing to retry (nothing_to_retry), or the key was used for another request',
  })
  async retry(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: HttpResponse,
  ) {
    const { batch, created } = await this.retries.retry(principal, id, idempotencyKey);
    res.statusCode = created ? 201 : 200;
    return batch;
  }
}
