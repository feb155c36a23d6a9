import { Body, Controller, Post, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import type { OpenAiEndpoint } from '../batches/submission/submission';
import type { HttpRequest, HttpResponse } from '../common/http';
import { schemaRef } from '../batches/submission/openapi-schemas';
import { LimitConcurrency } from '../limits/limit-concurrency.decorator';
import { CompletionsService } from './completions.service';

/** OpenAI's synchronous endpoints, served through the work queue at interactive priority. */
@ApiTags('completions (OpenAI)')
@ApiBearerAuth()
@ApiResponse({
  status: 200,
  description: 'the completion (JSON), or its chunks (SSE) with stream: true',
})
@ApiResponse({ status: 400, description: 'invalid request; error.details names each bad field' })
@ApiResponse({
  status: 429,
  description: 'rate limit or MAX_CONCURRENT_COMPLETIONS of this key; see Retry-After',
})
@ApiResponse({ status: 502, description: 'the generation failed' })
@ApiResponse({
  status: 504,
  description: 'no result within COMPLETION_TIMEOUT_MS (then cancelled)',
})
@Controller('v1')
export class CompletionsController {
  constructor(private readonly completions: CompletionsService) {}

  @Post('completions')
  @LimitConcurrency('completions')
  @ApiOperation({
    summary:
      'Complete a prompt (or infill prompt + suffix); stream: true for SSE, diffusing: true to watch it denoise',
  })
  @ApiBody({ schema: schemaRef('CompletionRequest') })
  @ApiProduces('application/json', 'text/event-stream')
  completion(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Req() req: HttpRequest,
    @Res() res: HttpResponse,
  ): Promise<void> {
    return this.serve('/v1/completions', principal, body, req, res);
  }

  @Post('chat/completions')
  @LimitConcurrency('completions')
  @ApiOperation({
    summary:
      'Chat: the messages become one prompt by the chat template (README); stream and diffusing as for completions',
  })
  @ApiBody({ schema: schemaRef('ChatCompletionRequest') })
  @ApiProduces('application/json', 'text/event-stream')
  chat(
    @CurrentPrincipal() principal: Principal,
    @Body() body: unknown,
    @Req() req: HttpRequest,
    @Res() res: HttpResponse,
  ): Promise<void> {
    return this.serve('/v1/chat/completions', principal, body, req, res);
  }

  /** Streams end themselves; a plain reply is written here (the route owns its response). */
  private async serve(
    endpoint: OpenAiEndpoint,
    principal: Principal,
    body: unknown,
    req: HttpRequest,
    res: HttpResponse,
  ): Promise<void> {
    const reply = await this.completions.complete(principal, endpoint, body, req, res);
    if (reply === undefined || res.headersSent) return;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(reply));
  }
}
