import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiError } from '../common/api-error';
import { MODEL_CATALOG, type ModelCatalog, type ServedModel } from '../model/served-model';

/** OpenAI's model object, for one bundle of the catalog. */
function modelView(model: ServedModel, isDefault: boolean) {
  return {
    id: model.name,
    object: 'model' as const,
    created: model.createdAt,
    owned_by: 'dllm-batch',
    /** extensions: what a request must fit in, and what the model is */
    max_length: model.maxLength,
    kind: model.kind,
    family: model.family,
    aliases: model.aliases,
    default: isDefault,
    chat_template: model.hasChatTemplate ? ('model' as const) : ('python-file' as const),
    defaults: model.defaults ?? {},
  };
}

@ApiTags('models (OpenAI)')
@ApiBearerAuth()
@Controller('v1/models')
export class ModelsController {
  constructor(@Inject(MODEL_CATALOG) private readonly models: ModelCatalog) {}

  @Get()
  @ApiOperation({
    summary: 'The models this deployment serves (MODEL_DIR, the default, then MODELS)',
  })
  list() {
    return {
      object: 'list' as const,
      data: this.models.map((m, i) => modelView(m, i === 0)),
    };
  }

  @Get(':id')
  @ApiOperation({ summary: 'A served model, by its name or an alias' })
  get(@Param('id') id: string) {
    const i = this.models.findIndex((m) => m.name === id || m.aliases.includes(id));
    if (i < 0) {
      throw ApiError.notFound(
        `model ${JSON.stringify(id)} is not served here; available: ${this.models.map((m) => m.name).join(', ')}`,
      );
    }
    return modelView(this.models[i]!, i === 0);
  }
}
