import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { ApiError } from '../common/api-error';
import { parseUuid } from '../common/uuid';
import { ApiKeysService } from './api-keys.service';
import { AdminOnly } from './principal';

const createKeySchema = z.strictObject({
  tenant: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1 to 64 letters, digits, ".", "_" or "-"'),
  name: z.string().min(1).max(128),
});

@ApiTags('admin')
@ApiBearerAuth()
@AdminOnly()
@Controller('v1/admin/api-keys')
export class AdminController {
  constructor(private readonly keys: ApiKeysService) {}

  @Post()
  @ApiOperation({ summary: 'Issue an API key for a tenant; the key is in this response only' })
  @ApiBody({ schema: z.toJSONSchema(createKeySchema) as object })
  create(@Body() body: unknown) {
    const parsed = createKeySchema.safeParse(body ?? {});
    if (!parsed.success) {
      throw ApiError.badRequest(
        'invalid_request',
        parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
        parsed.error.issues.map((i) => ({
          field: i.path.join('.') || '(body)',
          message: i.message,
        })),
      );
    }
    return this.keys.issue(parsed.data.tenant, parsed.data.name);
  }

  @Get()
  @ApiOperation({
    summary:
      'List every API key (id, tenant, name, created, last used to the minute, revoked); never the key',
  })
  async list() {
    return { object: 'list', data: await this.keys.list() };
  }

  @Delete(':id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke an API key (requests with it then get 401)' })
  revoke(@Param('id') id: string) {
    return this.keys.revoke(parseUuid(id, 'api key id'));
  }
}
