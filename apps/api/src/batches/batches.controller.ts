import {
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Config } from '@dllm/shared';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import { CONFIG } from '../common/core.module';
import type { HttpRequest, HttpResponse } from '../common/http';
import { LimitConcurrency } from '../limits/limit-concurrency.decorator';
import { schemaRef } from './submission/openapi-schemas';
import { BatchPresenter } from './batch-presenter';
import { readBatchRequest } from './batch-request';
import { BatchStreams } from './batch-streams';
import { BatchesService } from './batches.service';
import { parseResultsQuery, parseViewQuery } from './list-query';

const VIEW =
  'a batch created from an OpenAI input file is shown as an OpenAI batch object; view=native shows every batch in the native shape';
import { OpenAiBatches } from './openai-batches';
import { isPlainObject } from './submission/submission';

@ApiTags('batches')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'missing, invalid or revoked API key' })
@Controller('v1/batches')
export class BatchesController {
  constructor(
    private readonly service: BatchesService,
    private readonly streams: BatchStreams,
    private readonly openAi: OpenAiBatches,
    private readonly presenter: BatchPresenter,
    @Inject(CONFIG) private readonly config: Config,
  ) {}

  @Post()
  @LimitConcurrency('uploads')
  @ApiOperation({
    summary: 'Submit a batch',
    description:
      'JSON: `{model?, params?, metadata?, completion_window?, webhook_url?, items: [{custom_id, prompt | prefix + suffix, params?}]}`. ' +
      'JSONL (`application/x-ndjson`): one OpenAI batch line per request, `url` "/v1/completions" or "/v1/chat/completions", ' +
      'or one native item per line as `dllm generate` reads them (`{custom_id, prompt | prefix + suffix, params?, ...parameters}`; the format is told by the first line); ' +
      'batch options then go in the query (`completion_window`, `metadata[key]=value`, `webhook_url`). ' +
      'OpenAI: `{input_file_id, endpoint, completion_window, metadata?}` makes a batch of an uploaded file, shown as an OpenAI batch object. ' +
      'Everything is validated before anything is accepted: a 400 lists each problem by item index or line.',
  })
  @ApiConsumes('application/json', 'application/x-ndjson')
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'same key + same body: the same batch (200)',
  })
  @ApiResponse({ status: 201, description: 'accepted; the batch' })
  @ApiResponse({ status: 200, description: 'Idempotency-Key replay; the batch made earlier' })
  @ApiResponse({ status: 400, description: 'invalid batch; error.details lists the problems' })
  @ApiResponse({ status: 409, description: 'Idempotency-Key already used for a different request' })
  @ApiResponse({ status: 413, description: 'body larger than API_BODY_LIMIT_MB' })
  @ApiResponse({ status: 415, description: 'neither application/json nor application/x-ndjson' })
  @ApiResponse({
    status: 429,
    description: 'rate limit or concurrent uploads of this key; see Retry-After',
  })
  @ApiQuery({ name: 'completion_window', required: false, description: 'JSONL only' })
  @ApiBody({ schema: { oneOf: [schemaRef('BatchSubmission'), schemaRef('OpenAiBatchCreate')] } })
  async submit(
    @CurrentPrincipal() principal: Principal,
    @Req() req: HttpRequest,
    @Res({ passthrough: true }) res: HttpResponse,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
  ) {
    const request = await readBatchRequest(
      req,
      this.config.API_BODY_LIMIT_MB * 2 ** 20,
      this.config.JSON_MAX_DEPTH,
      idempotencyKey,
    );
    // The body decides the door: an OpenAI create names an input file, a native batch has items.
    const { batch, created } =
      request.kind === 'json' && isPlainObject(request.body) && 'input_file_id' in request.body
        ? await this.openAi.create(principal, request.body, request.hash, idempotencyKey, req.log)
        : await this.service.submit(principal, request, idempotencyKey, req.log);
    res.statusCode = created ? 201 : 200;
    return this.presenter.present(batch);
  }

  @Get()
  @ApiOperation({
    summary: 'Batch history, newest first (keyset pages: pass next_cursor as cursor)',
  })
  @ApiQuery({ name: 'status', required: false, description: 'one or more, comma-separated' })
  @ApiQuery({ name: 'model', required: false })
  @ApiQuery({ name: 'created_after', required: false, description: 'ISO 8601 or unix seconds' })
  @ApiQuery({ name: 'created_before', required: false, description: 'ISO 8601 or unix seconds' })
  @ApiQuery({
    name: 'metadata[key]',
    required: false,
    description: 'metadata value to match (repeatable)',
  })
  @ApiQuery({ name: 'limit', required: false, description: '1-100, default 20' })
  @ApiQuery({ name: 'cursor', required: false })
  @ApiQuery({
    name: 'after',
    required: false,
    description: 'OpenAI paging: the last batch id seen',
  })
  history(@CurrentPrincipal() principal: Principal, @Query() query: Record<string, unknown>) {
    return this.service.history(principal, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A batch: status, request counts, timestamps, timing summary' })
  @ApiParam({ name: 'id', format: 'uuid' })
  @ApiResponse({ status: 404, description: 'no such batch for this API key' })
  @ApiQuery({ name: 'view', required: false, enum: ['native'], description: VIEW })
  get(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ) {
    return this.service.get(principal, id, parseViewQuery(query));
  }

  @Get(':id/items')
  @ApiOperation({
    summary: "A batch's items with their results so far (pages: after = next_after)",
  })
  @ApiQuery({ name: 'status', required: false })
  @ApiQuery({ name: 'after', required: false, description: 'last index seen' })
  @ApiQuery({ name: 'limit', required: false, description: '1-1000, default 100' })
  items(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ) {
    return this.service.items(principal, id, query);
  }

  @Get(':id/results')
  @ApiOperation({
    summary: 'Results of ended items as JSONL, by index (format=openai: OpenAI batch output lines)',
  })
  @ApiProduces('application/x-ndjson')
  @ApiResponse({ status: 410, description: 'results expired (RESULT_RETENTION_S after the end)' })
  @ApiQuery({ name: 'format', required: false, enum: ['default', 'openai'] })
  async results(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
    @Req() req: HttpRequest,
    @Res() res: HttpResponse,
  ): Promise<void> {
    const batch = await this.service.withResults(principal, id);
    await this.streams.results(batch, parseResultsQuery(query).format, req, res);
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Cancel: queued items end now, running ones at their next step; results kept',
  })
  @ApiResponse({ status: 409, description: 'the batch already ended' })
  @ApiQuery({ name: 'view', required: false, enum: ['native'], description: VIEW })
  cancel(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Query() query: Record<string, unknown>,
  ) {
    return this.service.cancel(principal, id, parseViewQuery(query));
  }

  @Get(':id/events')
  @LimitConcurrency('streams')
  @ApiResponse({ status: 429, description: 'too many open streams for this key; see Retry-After' })
  @ApiOperation({
    summary: 'Progress as server-sent events (progress ..., then done); ends with the batch',
  })
  @ApiProduces('text/event-stream')
  async events(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Req() req: HttpRequest,
    @Res() res: HttpResponse,
  ): Promise<void> {
    const batch = await this.service.owned(principal, id);
    await this.streams.events(batch, req, res);
  }
}
