import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);

/** Execution providers onnxruntime-node can be asked for, tried in the order given. */
export const EXECUTION_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;

/** Every tunable of the service, read from the environment. */
export const configSchema = z.object({
  NODE_ENV: z
    .enum(['development', 'production', 'test'])
    .default('development')
    .describe('Deployment environment.'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
    .default('info')
    .describe('Lowest log level that is written.'),
  API_PORT: port(8080).describe('HTTP port of the API.'),
  WORKER_METRICS_PORT: port(9464).describe(
    'Port of the worker health and Prometheus metrics endpoint.',
  ),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/ })
    .default('redis://127.0.0.1:6379')
    .describe('Redis holding the BullMQ queues.'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/ })
    .default('postgres://postgres@127.0.0.1:5432/postgres')
    .describe('Postgres holding batches, items and results.'),
  MODEL_DIR: z
    .string()
    .min(1)
    .default('models/dllm-code-small')
    .describe('Model bundle folder (model.onnx, tokenizer.json, dllm.json).'),
  ENGINE_EXECUTION_PROVIDERS: z
    .string()
    .default('cpu')
    .transform((value) => value.split(',').map((provider) => provider.trim().toLowerCase()))
    .pipe(z.array(z.enum(EXECUTION_PROVIDERS)).min(1))
    .describe('Comma-separated onnxruntime execution providers, tried in order (e.g. "cuda,cpu").'),
  ENGINE_INTRA_OP_THREADS: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('onnxruntime intra-op threads per session; 0 lets the runtime choose.'),
  ENGINE_MAX_BATCH_ROWS: z.coerce
    .number()
    .int()
    .min(1)
    .default(16)
    .describe('Most rows in one forward pass.'),
  ENGINE_MAX_BATCH_TOKENS: z.coerce
    .number()
    .int()
    .min(1)
    .default(4096)
    .describe('Most tokens (rows x sequence length) in one forward pass.'),
});

export type Config = z.output<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: readonly { variable: string; reason: string }[]) {
    super(
      `Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.reason}`).join('\n')}`,
    );
    this.name = 'ConfigError';
  }
}

/** Reads and validates the configuration; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(configSchema.shape)) {
    // An empty variable (`FOO=` in a compose file) means "use the default", not "".
    input[key] = env[key] === '' ? undefined : env[key];
  }
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map(({ path, message }) => ({
        variable: String(path[0]),
        // Deeper paths are list entries, e.g. the second provider of ENGINE_EXECUTION_PROVIDERS.
        reason: path.length > 1 ? `entry ${Number(path[1]) + 1}: ${message}` : message,
      })),
    );
  }
  return result.data;
}
