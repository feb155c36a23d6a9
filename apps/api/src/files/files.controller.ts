import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiConsumes,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentPrincipal, type Principal } from '../auth/principal';
import type { HttpRequest, HttpResponse } from '../common/http';
import { LimitConcurrency } from '../limits/limit-concurrency.decorator';
import { attachmentHeader } from './file-name';
import { fileView } from './file-view';
import { FilesService } from './files.service';
import { readUpload } from './multipart-upload';
import { ResultFiles } from './result-files';

/** OpenAI's /v1/files for batch input files, and the output and error files of batches. */
@ApiTags('files (OpenAI)')
@ApiBearerAuth()
@ApiResponse({ status: 401, description: 'missing, invalid or revoked API key' })
@Controller('v1/files')
export class FilesController {
  constructor(
    private readonly files: FilesService,
    private readonly results: ResultFiles,
  ) {}

  @Post()
  @LimitConcurrency('uploads')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Upload a batch input file (OpenAI batch JSONL); its lines are checked when a batch is created from it',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: {
      type: 'object',
      required: ['file', 'purpose'],
      properties: {
        file: { type: 'string', format: 'binary' },
        purpose: { type: 'string', enum: ['batch'] },
        'expires_after[anchor]': { type: 'string', enum: ['created_at'] },
        'expires_after[seconds]': { type: 'integer', minimum: 3600, maximum: 2592000 },
      },
    },
  })
  @ApiResponse({ status: 413, description: 'file larger than FILE_MAX_MB' })
  async upload(@CurrentPrincipal() principal: Principal, @Req() req: HttpRequest) {
    return this.files.upload(principal, await readUpload(req, this.files.maxBytes));
  }

  @Get()
  @ApiOperation({ summary: 'Files of this tenant (pages: after = last_id)' })
  @ApiQuery({ name: 'purpose', required: false, enum: ['batch', 'batch_output', 'batch_error'] })
  @ApiQuery({ name: 'limit', required: false, description: '1-10000, default 100' })
  @ApiQuery({ name: 'order', required: false, enum: ['desc', 'asc'] })
  @ApiQuery({ name: 'after', required: false, description: 'a file id' })
  list(@CurrentPrincipal() principal: Principal, @Query() query: Record<string, unknown>) {
    return this.files.list(principal, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'A file' })
  @ApiResponse({ status: 404, description: 'no such file for this API key' })
  async get(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return fileView(await this.files.get(principal, id));
  }

  @Get(':id/content')
  @ApiOperation({
    summary: "A file's content (a batch's output and error files are rendered from its results)",
  })
  @ApiProduces('application/octet-stream', 'application/jsonl')
  async content(
    @CurrentPrincipal() principal: Principal,
    @Param('id') id: string,
    @Res() res: HttpResponse,
  ): Promise<void> {
    const file = await this.files.get(principal, id);
    res.setHeader('Content-Disposition', attachmentHeader(file.filename));
    if (file.storage !== 'batch') {
      const content = await this.files.content(file);
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', content.length);
      res.end(content);
      return;
    }
    res.setHeader('Content-Type', 'application/jsonl; charset=utf-8');
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    try {
      await this.results.stream(file, res, closed.signal);
    } catch (error) {
      if (!closed.signal.aborted) throw error;
    }
    if (!closed.signal.aborted) res.end();
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Delete a file (a batch made from it keeps its items)' })
  delete(@CurrentPrincipal() principal: Principal, @Param('id') id: string) {
    return this.files.delete(principal, id);
  }
}
