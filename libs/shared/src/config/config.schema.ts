import { z } from 'zod';

const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const count = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);

/**
 * Admin keys that appear in our own documentation and compose file: anyone can read them, so the
 * API refuses to start with one (a test keeps this list in step with README.md and the compose file).
 */
export const PUBLISHED_ADMIN_KEYS: readonly string[] = ['change-me-0123456789'];

/** A bundle of the model catalog as MODELS lists it: its folder, and the name to serve it under. */
export interface ModelEntry {
  /** unset: the bundle's dllm.json name, else its folder's name */
  name?: string;
  dir: string;
}

/** Execution providers the engine can use (its runtime/execution-providers.ts), tried in the order given. */
export const EXECUTION_PROVIDERS = ['webgpu', 'cuda', 'cpu'] as const;

/** Uploaded files, interactive completions and webhooks (the OpenAI-compatible surface). */
const openAiSurfaceConfig = {
  FILES_DIR: z
    .string()
    .min(1)
    .optional()
    .describe('Folder holding uploaded files (/v1/files); unset: they are stored in Postgres.'),
  FILE_MAX_MB: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(64)
    .describe('Largest file /v1/files accepts, in MiB.'),
  TENANT_FILES_QUOTA_MB: z.coerce
    .number()
    .int()
    .min(0)
    .default(10_240)
    .describe(
      'Uploaded files (not yet expired) one tenant may hold, in MiB; past it uploads get 403; 0 = no limit.',
    ),
  FILE_RETENTION_S: count(0, 30 * 86_400).describe(
    'Seconds an uploaded file is kept when its upload names no expires_after (as OpenAI keeps batch files: 30 days); then the cleanup job deletes it; 0 = until deleted.',
  ),
  COMPLETION_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(120_000)
    .describe('Longest a /v1/completions or /v1/chat/completions request waits for its result.'),
  INTERACTIVE_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(1)
    .default(4)
    .describe('Interactive completions one worker runs at once, beside its bulk chunks.'),
  INTERACTIVE_ATTEMPTS: count(1, 2).describe(
    'Tries per interactive (sync completion) job; a user waits, so few (the request times out anyway).',
  ),
  INTERACTIVE_BACKOFF_MS: count(0, 500).describe('Delay before an interactive job is tried again.'),
  WEBHOOK_ALLOWED_URLS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((url) => url.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.url({ protocol: /^https?$/ })))
    .describe(
      'Comma-separated URL prefixes a batch webhook_url may start with; empty: webhooks off.',
    ),
  WEBHOOK_SECRET: z
    .string()
    .min(24, 'must be at least 24 characters')
    .optional()
    .describe(
      'HMAC key of webhook signatures (Standard Webhooks; "whsec_" + base64, or plain text).',
    ),
  WEBHOOK_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(10)
    .describe('Deliveries tried per webhook before it is given up (exponential backoff).'),
  WEBHOOK_BACKOFF_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(2000)
    .describe('First retry delay of a webhook delivery; doubles on each further try.'),
  WEBHOOK_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(10_000)
    .describe('Longest one webhook delivery waits for the receiver to answer.'),
  WEBHOOK_CONCURRENCY: count(1, 4).describe('Webhook deliveries one API process makes at once.'),
  WEBHOOK_DRAIN_MS: count(0, 10_000).describe(
    'On shutdown: time for running webhook deliveries to finish before they are left to a retry.',
  ),
};

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
  API_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe(
      'Address the API binds (0.0.0.0 to accept other machines; the compose file sets it inside containers).',
    ),
  WORKER_METRICS_HOST: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('Address the worker health and metrics endpoint binds (0.0.0.0 inside containers).'),
  WORKER_METRICS_PORT: port(9464).describe(
    'Port of the worker health and Prometheus metrics endpoint.',
  ),
  REDIS_URL: z
    .url({ protocol: /^rediss?$/ })
    .default('redis://127.0.0.1:6379')
    .describe('Redis holding the BullMQ queues.'),
  DATABASE_URL: z
    .url({ protocol: /^postgres(ql)?$/ })
    .default('postgres://postgres@127.0.0.1:5432/dllm')
    .describe(
      'Postgres holding batches, items and results (scripts/ensure-services.sh creates its database).',
    ),
  MODEL_DIR: z
    .string()
    .min(1)
    .default('models/dllm-code-small')
    .describe(
      'The default model: its bundle folder (dllm.json, tokenizer.json, graphs); MODELS adds more.',
    ),
  MODELS: z
    .string()
    .default('')
    .transform((value, ctx) => {
      const entries: ModelEntry[] = [];
      for (const raw of value.split(',')) {
        const entry = raw.trim();
        if (!entry) continue;
        const eq = entry.indexOf('=');
        const name = eq >= 0 ? entry.slice(0, eq).trim() : undefined;
        const dir = (eq >= 0 ? entry.slice(eq + 1) : entry).trim();
        if (!dir || name === '') {
          ctx.addIssue({
            code: 'custom',
            message: `${JSON.stringify(entry)} is not DIR or NAME=DIR`,
          });
          continue;
        }
        entries.push(name === undefined ? { dir } : { name, dir });
      }
      return entries;
    })
    .describe(
      'More model bundles to serve beside MODEL_DIR (the default): comma-separated DIR or NAME=DIR (name: dllm.json "name", else the folder).',
    ),
  WORKER_MODELS: z
    .string()
    .default('')
    .transform((value) =>
      value
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    )
    .describe(
      'Comma-separated models (names from MODEL_DIR and MODELS) this worker serves, one engine each; empty: the default model; "*": every configured model.',
    ),
  ENGINE_EXECUTION_PROVIDERS: z
    .string()
    .default('cpu')
    .transform((value) => value.split(',').map((provider) => provider.trim().toLowerCase()))
    .pipe(z.array(z.enum(EXECUTION_PROVIDERS)).min(1))
    .describe(
      'Comma-separated execution providers (webgpu, cuda, cpu), tried in order; cpu is the last resort (e.g. "webgpu,cuda,cpu").',
    ),
  ENGINE_REQUIRE_GPU: z
    .stringbool()
    .default(false)
    .describe(
      'Fail at start-up when no GPU provider works, instead of falling back to cpu with a warning.',
    ),
  ENGINE_INTRA_OP_THREADS: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('onnxruntime intra-op threads per session; 0 lets the runtime choose.'),
  ENGINE_INTRA_OP_SPINNING: z
    .stringbool()
    .optional()
    .describe(
      "Whether onnxruntime's idle intra-op threads spin between runs; unset: the engine default, off (the engine's three sessions' spinners slow each other; bench:scheduling-ab).",
    ),
  ENGINE_REFRESH_HOLD_STEPS: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'Steps a row due a cache refresh may wait so rows whose blocks end close together share one refresh call (0: never wait); unset: the engine default, 3.',
    ),
  ENGINE_REFRESH_MIN_ROWS: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'A refresh call goes ahead without waiting once this many rows are due one; unset: the engine default, 4.',
    ),
  ENGINE_PACK_STEP_CALLS: z
    .stringbool()
    .optional()
    .describe(
      'A running row between blocks lends its place in the step call to a waiting row, which refreshes with it, so step calls stay at the row budget; unset: the engine default, on.',
    ),
  ENGINE_PACK_AHEAD_ROWS: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe(
      'With step-call packing, this many rows beyond the row budget run ahead to take the places of rows held between blocks (each holds its block cache); unset: the engine default, 4.',
    ),
  ENGINE_MAX_BATCH_ROWS: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'Most rows in one forward pass; unset: the default of the provider in use (cpu 16; webgpu, cuda 64, not yet measured).',
    ),
  ENGINE_MAX_BATCH_TOKENS: z.coerce
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      'Most tokens (rows x sequence length) in one forward pass; unset: the provider default (cpu 4096; webgpu, cuda 16384).',
    ),
  DATABASE_POOL_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(10)
    .describe('Most Postgres connections one process opens.'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only')
    .default('dllm')
    .describe('Prefix of every BullMQ key in Redis (separates deployments sharing a Redis).'),
  BATCH_CHUNK_SIZE: z.coerce
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(32)
    .describe('Items per queue job; a worker claims a whole chunk at a time.'),
  MAX_BATCH_ITEMS: z.coerce
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .default(100_000)
    .describe('Most items one batch may hold.'),
  API_BODY_LIMIT_MB: z.coerce
    .number()
    .int()
    .min(1)
    .max(1024)
    .default(64)
    .describe('Largest request body the API reads, in MiB (100,000 short items take about 15).'),
  JSON_MAX_DEPTH: z.coerce
    .number()
    .int()
    .min(8)
    .max(1000)
    .default(64)
    .describe(
      'Deepest nesting of arrays and objects a JSON body or JSONL line may have (400 past it).',
    ),
  DEFAULT_COMPLETION_WINDOW: z.coerce
    .number()
    .int()
    .min(60)
    .default(86_400)
    .describe('Seconds a batch may take when the request names no completion_window.'),
  MAX_COMPLETION_WINDOW: z.coerce
    .number()
    .int()
    .min(60)
    .default(7 * 86_400)
    .describe('Longest completion_window a request may ask for, in seconds.'),
  JOB_ATTEMPTS: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(5)
    .describe('Tries per chunk job before BullMQ marks it failed.'),
  JOB_BACKOFF_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(2000)
    .describe('First retry delay of a chunk job; doubles on each further try.'),
  RECONCILE_INTERVAL_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(5000)
    .describe(
      'How often the repair leader compares open items with the queue (re-enqueues, expires, fails).',
    ),
  ENQUEUE_GRACE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(10_000)
    .describe('Age after which a committed batch still not enqueued counts as stranded.'),
  SSE_POLL_MS: z.coerce
    .number()
    .int()
    .min(50)
    .default(500)
    .describe(
      'Least time between two rereads of a batch that progress streams watch (each reread follows an event).',
    ),
  EVENTS_BLOCK_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(10_000)
    .describe(
      "Longest wait of the API's one blocking read of batch events (XREAD BLOCK) before it reads again.",
    ),
  DASHBOARD_DIR: z
    .string()
    .min(1)
    .default('dist/web')
    .describe('Folder of the built web dashboard (npm run build:web) that the API serves at /ui.'),
  ADMIN_API_KEY: z
    .string()
    .min(32, 'must be at least 32 characters (e.g. openssl rand -hex 24)')
    .refine((key) => !PUBLISHED_ADMIN_KEYS.includes(key), {
      message: 'is a value printed in the README or compose file; choose a secret one',
    })
    .optional()
    .describe('Bearer key of the admin routes (/v1/admin/*, /admin/queues); unset disables them.'),
  WORKER_ID: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe('Name this worker records on the items it runs; default: hostname:pid.'),
  WORKER_CONCURRENCY: z.coerce
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Chunk jobs one worker runs at once; 0 = enough to fill 2 engine batches.'),
  WORKER_LOCK_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(30_000)
    .describe("BullMQ job lock; a killed worker's chunks are taken over once it lapses."),
  WORKER_STALLED_CHECK_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(15_000)
    .describe('How often a worker looks for stalled jobs (locks lapsed) to take over.'),
  WORKER_MAX_STALLED: z.coerce
    .number()
    .int()
    .min(1)
    .default(5)
    .describe('Times a chunk may stall (its worker died) before BullMQ fails it.'),
  WORKER_DRAIN_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(20_000)
    .describe('On SIGTERM: time to finish running rows before handing chunks back.'),
  RESULT_FLUSH_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(200)
    .describe('Longest a finished row waits before its result is written to Postgres.'),
  RESULT_FLUSH_ROWS: z.coerce
    .number()
    .int()
    .min(1)
    .default(64)
    .describe('Results written in one Postgres transaction at most.'),
  JOB_FAILED_RETENTION_S: count(60, 7 * 86_400).describe(
    'Seconds a job BullMQ gave up on (chunk, interactive, webhook) stays in Redis (for operators; the repair loop handles chunks).',
  ),
  REPAIR_GRACE_MS: count(0, 30_000).describe(
    'How long a chunk job must stay missing or orphaned (active, lock gone) before the repair loop re-enqueues it.',
  ),
  ITEM_MAX_ATTEMPTS: count(1, 10).describe(
    'Claims of one item (worker deaths, lost locks, retries) before it fails as attempts_exhausted.',
  ),
  ITEM_POISON_RUNS: count(1, 2).describe(
    'Runs of an item alone that ended in a crash before it fails as poison.',
  ),
  WORKER_SUSPECT_STALLS: count(1, 2).describe(
    'Times workers died holding a chunk before its items run one at a time, alone (poison isolation).',
  ),
  ENGINE_MAX_RESTARTS: count(0, 5).describe(
    'Engine thread restarts allowed within ENGINE_RESTART_WINDOW_MS; one more and the worker exits 1.',
  ),
  ENGINE_RESTART_WINDOW_MS: count(1000, 600_000).describe(
    'Window over which ENGINE_MAX_RESTARTS is counted.',
  ),
  BUDGET_INTERVAL_MS: count(100, 1000).describe(
    'How often the budget controller re-decides the threshold of budget "auto" rows (also whenever a chunk is claimed).',
  ),
  BUDGET_RELAX_HOLD_MS: count(0, 5000).describe(
    'Budget controller: relax auto rows one threshold level at a time, at most once per this long after any change (tightening is immediate).',
  ),
  BUDGET_RELAX_MARGIN: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.2)
    .describe(
      'Budget controller hysteresis: relax to a gentler threshold only if every deadline keeps this share of its remaining time.',
    ),
  BUDGET_PLAN_MARGIN: z.coerce
    .number()
    .min(0)
    .max(1)
    .default(0.1)
    .describe(
      "Budget controller safety margin: plan to finish auto rows with this share of each deadline's remaining time to spare (at most BUDGET_RELAX_MARGIN).",
    ),
  RESULT_WRITE_ATTEMPTS: count(1, 5).describe(
    'Tries of one result flush before its rows are written one by one and then given up on.',
  ),
  RESULT_WRITE_BACKOFF_MS: count(0, 200).describe(
    'First retry delay of a failed result flush; doubles on each further try.',
  ),
  HEALTH_PROBE_TIMEOUT_MS: count(100, 2000).describe(
    'A readiness check gives up on a dependency (Postgres, Redis, engine) after this long.',
  ),
  DATABASE_STATEMENT_TIMEOUT_MS: count(0, 30_000).describe(
    'Postgres statement_timeout of every connection; 0 = none.',
  ),
  DATABASE_CONNECT_TIMEOUT_MS: count(100, 5000).describe(
    'Longest wait for a new Postgres connection before the query fails.',
  ),
  DATABASE_IDLE_TX_TIMEOUT_MS: count(0, 60_000).describe(
    'Postgres idle_in_transaction_session_timeout: a transaction left idle this long is ended; 0 = never.',
  ),
  API_REQUEST_TIMEOUT_MS: count(1000, 300_000).describe(
    'Longest time the API waits for a whole request (headers and body) before answering 408.',
  ),
  API_HEADERS_TIMEOUT_MS: count(1000, 30_000).describe(
    'Longest time the API waits for request headers.',
  ),
  API_SHUTDOWN_GRACE_MS: count(0, 10_000).describe(
    'On SIGTERM: time in-flight requests get before their connections are closed.',
  ),
  RATE_LIMIT_REQUESTS: count(0, 3000).describe(
    'Requests one API key may make per RATE_LIMIT_WINDOW_S (shared by API replicas through Redis); 0 = no limit.',
  ),
  RATE_LIMIT_WINDOW_S: count(1, 60).describe('Window of RATE_LIMIT_REQUESTS, in seconds.'),
  AUTH_CACHE_MS: count(0, 2000).describe(
    'How long an API process reuses a key lookup (0 = every request reads Postgres); a revocation evicts it at once in every process Redis reaches.',
  ),
  ADMIN_AUTH_FAILURES: count(1, 10).describe(
    'Wrong admin keys one client address may send per ADMIN_AUTH_WINDOW_S before its admin requests get 429.',
  ),
  ADMIN_AUTH_WINDOW_S: count(1, 300).describe('Window of ADMIN_AUTH_FAILURES, in seconds.'),
  MAX_CONCURRENT_UPLOADS: count(0, 2).describe(
    'Batch submissions one API key may have in flight at once, over all API processes (Redis); 0 = no limit.',
  ),
  MAX_SSE_STREAMS: count(0, 16).describe(
    'Open progress streams (GET /v1/batches/:id/events) per API key, over all API processes (Redis); 0 = no limit.',
  ),
  MAX_CANVAS_STREAMS: count(0, 4).describe(
    'Open canvas streams (GET /v1/batches/:id/canvas) per API key, over all API processes (Redis); 0 = no limit.',
  ),
  MAX_CONCURRENT_COMPLETIONS: count(0, 16).describe(
    'Sync completions (/v1/completions, /v1/chat/completions) one API key may have waiting at once, over all API processes (Redis); 0 = no limit.',
  ),
  CANVAS_BUFFER_KB: count(16, 1024).describe(
    'Canvas frames a stream may hold for a reader that is not taking them, in KiB; past it the stream is closed (resume with Last-Event-ID).',
  ),
  SSE_HEARTBEAT_MS: count(1000, 15_000).describe(
    'An idle progress stream sends a comment this often, so proxies keep it open.',
  ),
  SSE_SLOW_READER_MS: count(1000, 30_000).describe(
    'A progress stream whose reader has not taken the last event within this long is closed.',
  ),
  RESULT_RETENTION_S: count(0, 30 * 86_400).describe(
    "Seconds a batch's results (items, output and error files) are kept after it ends (OpenAI keeps batch outputs 30 days); then reads of them answer 410 and the cleanup job deletes them; 0 = forever.",
  ),
  CANVAS_RETENTION_S: count(60, 3600).describe(
    "Seconds a batch's event stream (its canvases and progress events) is kept in Redis after its last entry; canvas reads of a batch that ended longer ago answer 410.",
  ),
  TENANT_RESULTS_QUOTA_ITEMS: count(0, 5_000_000).describe(
    'Items one tenant may have stored (every batch whose results have not expired, open ones included); a submission past it gets 403 naming the usage; 0 = no limit.',
  ),
  TENANT_CANVAS_QUOTA_ITEMS: count(0, 1000).describe(
    'Items asking for canvases (intermediate_every > 0) one tenant may have kept (open batches, and batches ended within CANVAS_RETENTION_S); a submission past it gets 403; 0 = no limit.',
  ),
  RETENTION_SWEEP_INTERVAL_MS: count(1000, 60_000).describe(
    'How often the cleanup job deletes expired files and results (one leader among the API processes acts, by a Postgres advisory lock).',
  ),
  RETENTION_DELETE_ROWS: count(100, 5000).describe(
    'Rows one cleanup DELETE removes at most, each in its own short transaction (a 100,000-item batch never holds locks for long).',
  ),
  CONCURRENCY_LEASE_MS: count(3000, 30_000).describe(
    "Lease of a concurrency slot (MAX_* per key) in Redis, shared by API replicas: its process renews it every third of this; a crashed process's slots free once it lapses.",
  ),
  FAULT_INJECTION: z
    .string()
    .optional()
    .describe(
      'Test only (refused in production): comma-separated faults, e.g. "engine-crash-signal", "crash-on-prompt:MARKER".',
    ),
  ...openAiSurfaceConfig,
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
  const result = configSchema
    .refine((c) => !(c.NODE_ENV === 'production' && c.FAULT_INJECTION), {
      path: ['FAULT_INJECTION'],
      message: 'fault injection is for tests; it is refused when NODE_ENV=production',
    })
    .safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map(({ path, message }) => ({
        variable: String(path[0]),
        // Deeper paths are list entries, e.g. the second provider of ENGINE_EXECUTION_PROVIDERS.
        reason: path.length > 1 ? `entry ${Number(path[1]) + 1}: ${message}` : message,
      })),
    );
  }
  if (result.data.WEBHOOK_ALLOWED_URLS.length > 0 && !result.data.WEBHOOK_SECRET) {
    // an unsigned webhook is one anybody could forge
    throw new ConfigError([
      { variable: 'WEBHOOK_SECRET', reason: 'is required when WEBHOOK_ALLOWED_URLS is set' },
    ]);
  }
  return result.data;
}
