// The compose stack's scenario, run by test/compose/run.sh against containers it has started: a
// batch spread over 3 workers; mid-batch one is `docker kill`ed (stays down), one's process is
// SIGKILLed from the host as the OOM killer would (restarted by its policy), one is `docker stop`ped
// (drains, exits 0, stays down); every item ends exactly once (a Postgres audit trigger); then the
// OpenAI SDK round trip against the container API. Prints one JSON summary line.
import { execFileSync } from 'node:child_process';
import OpenAI, { toFile } from 'openai';
import { Client } from 'pg';
import { auditBatch } from '../support/chaos/audit';
import { installWriteAudit } from '../support/seed-batch';
import { waitFor } from '../support/wait-for';

const API = process.env.COMPOSE_API_URL ?? 'http://127.0.0.1:58080';
const ADMIN_KEY = process.env.COMPOSE_ADMIN_KEY ?? 'compose-test-admin-key-0123456789abcdef';
const DATABASE_URL =
  process.env.COMPOSE_DATABASE_URL ?? 'postgres://dllm:dllm@127.0.0.1:55432/dllm';
const PROJECT = process.env.COMPOSE_PROJECT ?? 'dllmcompose';
const ITEMS = Number(process.env.COMPOSE_ITEMS ?? 48);
const MODEL = 'dllm-code-small';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();

function check(ok: unknown, what: string): void {
  if (!ok) throw new Error(`compose test: ${what}`);
  console.log(`ok - ${what}`);
}

interface Worker {
  container: string;
  workerId: string;
}

/** The running worker containers and the worker id each records on items (hostpatch/worker.sh). */
function workers(): Worker[] {
  const ids = docker(
    'ps',
    '-q',
    '--filter',
    `label=com.docker.compose.project=${PROJECT}`,
    '--filter',
    'label=com.docker.compose.service=worker',
  )
    .split('\n')
    .filter(Boolean);
  return ids.map((container) => ({
    container,
    workerId: `worker-${docker('exec', container, 'cat', '/tmp/metrics-port')}`,
  }));
}

const inspect = (container: string, format: string) => docker('inspect', '-f', format, container);

async function api<T>(path: string, key: string, body?: unknown): Promise<T> {
  const res = await fetch(`${API}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Items of the batch in progress, per worker id. */
async function inProgress(db: Client, batchId: string): Promise<Map<string, number>> {
  const rows = (
    await db.query<{ worker_id: string; n: number }>(
      `SELECT worker_id, count(*)::int AS n FROM batch_items
        WHERE batch_id = $1 AND status = 'in_progress' AND worker_id IS NOT NULL GROUP BY 1`,
      [batchId],
    )
  ).rows;
  return new Map(rows.map((r) => [r.worker_id, r.n]));
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const db = new Client({ connectionString: DATABASE_URL });
  await db.connect();
  await installWriteAudit(db);
  const { key } = await api<{ key: string }>('/v1/admin/api-keys', ADMIN_KEY, {
    tenant: 'acme',
    name: 'compose-test',
  });
  check(key, 'the admin route issued an API key');

  const before = workers();
  check(before.length === 3, `3 workers running (${before.length})`);
  const prompts = [
    'def fib(n):\n',
    'class Stack:\n    def __init__(self):\n',
    'def is_prime(n):\n',
  ];
  const items = Array.from({ length: ITEMS }, (_, i) => ({
    custom_id: `item-${i}`,
    prompt: `${prompts[i % prompts.length]}    # ${i}\n`,
  }));
  const batch = await api<{ id: string }>('/v1/batches', key, {
    params: { gen_length: 32 },
    items,
  });

  // every worker holds a chunk before anything is killed: the batch is spread over all three
  const busy = await waitFor(
    'every worker to hold a chunk',
    async () => {
      const held = await inProgress(db, batch.id);
      return before.every((w) => held.has(w.workerId)) ? held : undefined;
    },
    180_000,
    500,
  );
  check(busy.size === 3, 'every worker took work from the batch');

  // three faults while every worker holds a chunk: `docker kill`, a process death (the OOM killer's
  // SIGKILL, from the host), and `docker stop` (SIGTERM: drains, exits 0 on its own)
  const [killed, crashed, stopped] = before as [Worker, Worker, Worker];
  const restarts = (w: Worker) => Number(inspect(w.container, '{{.RestartCount}}'));
  const running = (w: Worker) => inspect(w.container, '{{.State.Running}}') === 'true';
  const crashedRestarts = restarts(crashed);
  docker('kill', killed.container);
  console.log(
    `docker kill ${killed.workerId} (holding ${busy.get(killed.workerId)} running items)`,
  );
  process.kill(Number(inspect(crashed.container, '{{.State.Pid}}')), 'SIGKILL');
  console.log(
    `SIGKILL to the process of ${crashed.workerId} (holding ${busy.get(crashed.workerId)} running items)`,
  );

  const held = await waitFor(
    'the third worker to hold a chunk',
    async () => (await inProgress(db, batch.id)).get(stopped.workerId),
    60_000,
    500,
  );
  const s0 = Date.now();
  docker('stop', '-t', '30', stopped.container);
  const stopSeconds = (Date.now() - s0) / 1000;
  const exitCode = Number(inspect(stopped.container, '{{.State.ExitCode}}'));
  const logs = execFileSync('docker', ['logs', stopped.container], {
    encoding: 'utf8',
    stdio: 'pipe',
  });
  check(
    exitCode === 0,
    `docker stop: the worker exited 0 (${exitCode}) after ${stopSeconds.toFixed(1)} s, holding ${held} items`,
  );
  check(stopSeconds < 30, 'docker stop: it ended before the 30 s grace period (no SIGKILL)');
  check(
    logs.includes('draining running rows') && logs.includes('"exit_code":0'),
    'docker stop: the worker drained',
  );

  // restart: unless-stopped: the dead process comes back; docker kill and docker stop stay down
  await waitFor(
    'the crashed worker to be restarted',
    () => (restarts(crashed) > crashedRestarts && running(crashed) ? true : undefined),
    60_000,
    500,
  );
  check(true, 'restart policy: a worker whose process died was restarted');
  await sleep(3000);
  check(
    !running(killed) && restarts(killed) === 0,
    'restart policy: the docker-killed worker stays down (an operator stop)',
  );
  check(!running(stopped), 'restart policy: the docker-stopped worker stays down');

  const done = await waitFor(
    'the batch to end',
    async () => {
      const b = await api<{ status: string }>(`/v1/batches/${batch.id}`, key);
      return ['completed', 'failed', 'cancelled', 'expired'].includes(b.status) ? b : undefined;
    },
    300_000,
    500,
  );
  const audit = await auditBatch(db, batch.id);
  check(
    done.status === 'completed' && audit.completed === ITEMS,
    `the batch completed: ${audit.completed}/${ITEMS} items`,
  );
  check(audit.neverEnded === 0, `0 items lost (${audit.neverEnded})`);
  check(audit.writtenTwice === 0, `0 items ended twice (${audit.writtenTwice})`);
  check(
    audit.retried > 0,
    `the killed worker's items were taken over (${audit.retried} items claimed again)`,
  );
  const byWorker = (
    await db.query<{ worker_id: string; n: number }>(
      `SELECT worker_id, count(*)::int AS n FROM batch_items WHERE batch_id = $1 GROUP BY 1 ORDER BY 1`,
      [batch.id],
    )
  ).rows;

  // the OpenAI SDK against the container API: upload, batch, output file, one interactive completion
  const client = new OpenAI({ apiKey: key, baseURL: `${API}/v1`, maxRetries: 0 });
  const lines = Array.from({ length: 3 }, (_, i) =>
    JSON.stringify({
      custom_id: `req-${i}`,
      method: 'POST',
      url: '/v1/completions',
      body: { model: MODEL, prompt: `def handler_${i}(request):`, max_tokens: 8, seed: i },
    }),
  );
  const file = await client.files.create({
    file: await toFile(Buffer.from(lines.join('\n') + '\n'), 'requests.jsonl'),
    purpose: 'batch',
  });
  const created = await client.batches.create({
    input_file_id: file.id,
    endpoint: '/v1/completions',
    completion_window: '24h',
  });
  const sdkDone = await waitFor(
    'the SDK batch to end',
    async () => {
      const b = await client.batches.retrieve(created.id);
      return ['completed', 'failed', 'cancelled', 'expired'].includes(b.status) ? b : undefined;
    },
    180_000,
    500,
  );
  check(
    sdkDone.status === 'completed' && sdkDone.request_counts?.completed === 3,
    'OpenAI SDK: the batch completed',
  );
  const output = (await (await client.files.content(sdkDone.output_file_id!)).text())
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { custom_id: string; response: { status_code: number } });
  check(
    output
      .map((l) => l.custom_id)
      .sort()
      .join() === 'req-0,req-1,req-2' && output.every((l) => l.response.status_code === 200),
    'OpenAI SDK: the output file holds one 200 response per request',
  );
  const completion = await client.completions.create({
    model: MODEL,
    prompt: 'def add(a, b):',
    max_tokens: 8,
  });
  check(
    typeof completion.choices[0]?.text === 'string',
    'OpenAI SDK: an interactive completion answered',
  );
  await db.end();

  console.log(
    `compose result: ${JSON.stringify({
      items: ITEMS,
      lost: audit.neverEnded,
      duplicated: audit.writtenTwice,
      retried: audit.retried,
      items_by_worker: Object.fromEntries(byWorker.map((r) => [r.worker_id, r.n])),
      stop_drain_seconds: Math.round(stopSeconds * 10) / 10,
      scenario_seconds: Math.round((Date.now() - t0) / 1000),
    })}`,
  );
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
