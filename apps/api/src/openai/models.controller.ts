import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiError } from '../common/api-error';
import { SERVED_MODEL, type ServedModel } from '../model/served-model';

/** OpenAI's model object, for the bundle this deployment serves. */
function modelView(model: ServedModel) {
  return {
    id: model.name,
    object: 'model' as const,
    created: model.createdAt,
    owned_by: 'dllm-batch',
    /** extension: what a request must fit in */
    max_length: model.maxLength,
  };
}

@ApiTags('models (OpenAI)')
@ApiBearerAuth()
@Controller('v1/models')
export class ModelsController {
  constructor(@Inject(SERVED_MODEL) private readonly model: ServedModel) {}

  @Get()
  @ApiOperation({ summary: 'The models this deployment serves (the bundle in MODEL_DIR)' })
  list() {
    return { object: 'list' as const, data: [modelView(this.model)] };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A served model, by its name or an alias' })
  get(@Param('id') id: string) {
    if (id !== this.model.name && !this.model.aliases.includes(id)) {
      throw ApiError.notFound(
        `model ${JSON.stringify(id)} is not served here; available: ${this.model.name}`,
      );
    }
    return modelView(this.model);
  }
}
