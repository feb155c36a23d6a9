import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './config.schema';

describe('loadConfig', () => {
  it('gives every tunable its default when the environment is empty', () => {
    expect(loadConfig({})).toEqual({
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      API_PORT: 8080,
      API_HOST: '127.0.0.1',
      WORKER_METRICS_PORT: 9464,
      WORKER_METRICS_HOST: '127.0.0.1',
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/dllm',
      MODEL_DIR: 'models/dllm-code-small',
      MODELS: [],
      WORKER_MODELS: [],
      ENGINE_EXECUTION_PROVIDERS: ['cpu'],
      ENGINE_REQUIRE_GPU: false,
      ENGINE_INTRA_OP_THREADS: 0,
      // unset: the engine's measured defaults
      ENGINE_INTRA_OP_SPINNING: undefined,
      ENGINE_REFRESH_HOLD_STEPS: undefined,
      ENGINE_REFRESH_MIN_ROWS: undefined,
      ENGINE_PACK_STEP_CALLS: undefined,
      ENGINE_PACK_AHEAD_ROWS: undefined,
      // unset: the engine picks the default of the provider it runs on
      ENGINE_MAX_BATCH_ROWS: undefined,
      ENGINE_MAX_BATCH_TOKENS: undefined,
      DATABASE_POOL_SIZE: 10,
      QUEUE_PREFIX: 'dllm',
      BATCH_CHUNK_SIZE: 32,
      MAX_BATCH_ITEMS: 100_000,
      API_BODY_LIMIT_MB: 64,
      JSON_MAX_DEPTH: 64,
      DEFAULT_COMPLETION_WINDOW: 86_400,
      MAX_COMPLETION_WINDOW: 604_800,
      JOB_ATTEMPTS: 5,
      JOB_BACKOFF_MS: 2000,
      RECONCILE_INTERVAL_MS: 5000,
      ENQUEUE_GRACE_MS: 10_000,
      EVENTS_BLOCK_MS: 10_000,
      SSE_POLL_MS: 500,
      DASHBOARD_DIR: 'dist/web',
      WORKER_CONCURRENCY: 0,
      WORKER_LOCK_MS: 30_000,
      WORKER_STALLED_CHECK_MS: 15_000,
      WORKER_MAX_STALLED: 5,
      WORKER_DRAIN_MS: 20_000,
      RESULT_FLUSH_MS: 200,
      RESULT_FLUSH_ROWS: 64,
      JOB_FAILED_RETENTION_S: 604_800,
      REPAIR_GRACE_MS: 30_000,
      ITEM_MAX_ATTEMPTS: 10,
      ITEM_POISON_RUNS: 2,
      WORKER_SUSPECT_STALLS: 2,
      ENGINE_MAX_RESTARTS: 5,
      ENGINE_RESTART_WINDOW_MS: 600_000,
      BUDGET_INTERVAL_MS: 1000,
      BUDGET_PLAN_MARGIN: 0.1,
      BUDGET_RELAX_HOLD_MS: 5000,
      BUDGET_RELAX_MARGIN: 0.2,
      RESULT_WRITE_ATTEMPTS: 5,
      RESULT_WRITE_BACKOFF_MS: 200,
      HEALTH_PROBE_TIMEOUT_MS: 2000,
      DATABASE_STATEMENT_TIMEOUT_MS: 30_000,
      DATABASE_CONNECT_TIMEOUT_MS: 5000,
      DATABASE_IDLE_TX_TIMEOUT_MS: 60_000,
      API_REQUEST_TIMEOUT_MS: 300_000,
      API_HEADERS_TIMEOUT_MS: 30_000,
      API_SHUTDOWN_GRACE_MS: 10_000,
      RATE_LIMIT_REQUESTS: 3000,
      RATE_LIMIT_WINDOW_S: 60,
      ADMIN_AUTH_FAILURES: 10,
      ADMIN_AUTH_WINDOW_S: 300,
      AUTH_CACHE_MS: 2000,
      MAX_CONCURRENT_UPLOADS: 2,
      MAX_SSE_STREAMS: 16,
      MAX_CANVAS_STREAMS: 4,
      MAX_CONCURRENT_COMPLETIONS: 16,
      CANVAS_BUFFER_KB: 1024,
      RESULT_RETENTION_S: 30 * 86_400,
      CANVAS_RETENTION_S: 3600,
      TENANT_RESULTS_QUOTA_ITEMS: 5_000_000,
      TENANT_CANVAS_QUOTA_ITEMS: 1000,
      RETENTION_SWEEP_INTERVAL_MS: 60_000,
      RETENTION_DELETE_ROWS: 5000,
      CONCURRENCY_LEASE_MS: 30_000,
      SSE_HEARTBEAT_MS: 15_000,
      SSE_SLOW_READER_MS: 30_000,
      FILE_MAX_MB: 64,
      TENANT_FILES_QUOTA_MB: 10240,
      FILE_RETENTION_S: 30 * 86_400,
      COMPLETION_TIMEOUT_MS: 120_000,
      INTERACTIVE_CONCURRENCY: 4,
      INTERACTIVE_ATTEMPTS: 2,
      INTERACTIVE_BACKOFF_MS: 500,
      WEBHOOK_ALLOWED_URLS: [],
      WEBHOOK_ATTEMPTS: 10,
      WEBHOOK_BACKOFF_MS: 2000,
      WEBHOOK_TIMEOUT_MS: 10_000,
      WEBHOOK_CONCURRENCY: 4,
      WEBHOOK_DRAIN_MS: 10_000,
    });
  });

  it('refuses fault injection in production', () => {
    expect(() =>
      loadConfig({ NODE_ENV: 'production', FAULT_INJECTION: 'engine-crash-signal' }),
    ).toThrow(/FAULT_INJECTION: fault injection is for tests/);
    expect(
      loadConfig({ NODE_ENV: 'test', FAULT_INJECTION: 'engine-crash-signal' }).FAULT_INJECTION,
    ).toBe('engine-crash-signal');
  });

  it('reads numbers and provider lists from strings, and treats empty variables as unset', () => {
    const config = loadConfig({
      API_PORT: '3000',
      ENGINE_EXECUTION_PROVIDERS: 'WebGPU, CUDA, cpu',
      ENGINE_MAX_BATCH_ROWS: '',
      ENGINE_MAX_BATCH_TOKENS: '8192',
      ENGINE_REQUIRE_GPU: 'true',
    });
    expect(config.API_PORT).toBe(3000);
    expect(config.ENGINE_EXECUTION_PROVIDERS).toEqual(['webgpu', 'cuda', 'cpu']);
    expect(config.ENGINE_MAX_BATCH_ROWS).toBeUndefined();
    expect(config.ENGINE_MAX_BATCH_TOKENS).toBe(8192);
    expect(config.ENGINE_REQUIRE_GPU).toBe(true);
    expect(loadConfig({ ENGINE_REQUIRE_GPU: '0' }).ENGINE_REQUIRE_GPU).toBe(false);
  });

  it('reads the model catalog (DIR or NAME=DIR) and the models a worker serves as lists', () => {
    const config = loadConfig({
      MODELS: ' models/tiny-llada , qwen=/srv/bundles/qwen-chat,',
      WORKER_MODELS: 'dllm-code-small, qwen',
    });
    expect(config.MODELS).toEqual([
      { dir: 'models/tiny-llada' },
      { name: 'qwen', dir: '/srv/bundles/qwen-chat' },
    ]);
    expect(config.WORKER_MODELS).toEqual(['dllm-code-small', 'qwen']);
    expect(() => loadConfig({ MODELS: '=models/x' })).toThrow(
      /MODELS: "=models\/x" is not DIR or NAME=DIR/,
    );
  });

  it('reads webhook URL prefixes as a list and wants a signing secret with them', () => {
    expect(() => loadConfig({ WEBHOOK_ALLOWED_URLS: 'https://hooks.example.com/' })).toThrow(
      'WEBHOOK_SECRET: is required when WEBHOOK_ALLOWED_URLS is set',
    );
    expect(() => loadConfig({ WEBHOOK_ALLOWED_URLS: 'ftp://x/' })).toThrow(/WEBHOOK_ALLOWED_URLS/);
    const config = loadConfig({
      WEBHOOK_ALLOWED_URLS: 'https://hooks.example.com/dllm/, http://127.0.0.1:9000/',
      WEBHOOK_SECRET: 'whsec_' + 'a'.repeat(32),
    });
    expect(config.WEBHOOK_ALLOWED_URLS).toEqual([
      'https://hooks.example.com/dllm/',
      'http://127.0.0.1:9000/',
    ]);
  });

  it('names every bad variable and why in one error', () => {
    const load = () =>
      loadConfig({
        API_PORT: 'eighty',
        REDIS_URL: 'http://127.0.0.1:6379',
        ENGINE_EXECUTION_PROVIDERS: 'cuda,tensorrt',
        ENGINE_REQUIRE_GPU: 'maybe',
        ENGINE_MAX_BATCH_ROWS: '0',
      });

    expect(load).toThrow(ConfigError);
    let error: ConfigError | undefined;
    try {
      load();
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error?.problems.map((p) => p.variable)).toEqual([
      'API_PORT',
      'REDIS_URL',
      'ENGINE_EXECUTION_PROVIDERS',
      'ENGINE_REQUIRE_GPU',
      'ENGINE_MAX_BATCH_ROWS',
    ]);
    expect(error?.message).toMatch(/^Invalid configuration:\n/);
    expect(error?.message).toContain('API_PORT: Invalid input: expected number, received NaN');
    expect(error?.message).toContain('ENGINE_EXECUTION_PROVIDERS: entry 2: Invalid option');
    expect(error?.message).toContain('ENGINE_MAX_BATCH_ROWS: Too small: expected number to be >=1');
  });
});

describe('DATABASE_URL and scripts/ensure-services.sh', () => {
  it('the script creates the database the default DATABASE_URL names', () => {
    const script = readFileSync(join(__dirname, '../../../../scripts/ensure-services.sh'), 'utf8');
    const fallback = /database=\$\{DATABASE_URL:-([^}]+)\}/.exec(script)?.[1];
    expect(fallback).toBe(loadConfig({}).DATABASE_URL);
    expect(new URL(fallback!).pathname).toBe('/dllm');
  });
});
