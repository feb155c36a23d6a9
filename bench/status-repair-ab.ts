/**
 * Status reads (GET /v1/batches/:id, 16 concurrent pollers, 10 s, 3 times) on an accepted
 * 100,000-item batch that no worker runs, in the built API with its repair loop at the default
 * RECONCILE_INTERVAL_MS and then with it effectively off (1 h): how much of a status read's
 * latency the leader's pass over the batch's 3,125 open chunks costs (6 Redis commands each,
 * every 5 s, in the API process when it leads).
 *   npm run build && npx tsx bench/status-repair-ab.ts [N_ITEMS]
 */
import { loadavg } from 'node:os';
import { ApiClient, ServiceStack } from './lib/service-stack';

const percentile = (s: number[], p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;

async function reads(api: ApiClient, id: string) {
  const latencies: number[] = [];
  const until = performance.now() + 10_000;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        await api.request('GET', `/v1/batches/${id}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    n: latencies.length,
    p50: Number(percentile(latencies, 0.5).toFixed(1)),
    p99: Number(percentile(latencies, 0.99).toFixed(1)),
  };
}

async function measure(items: number, env: Record<string, string>) {
  const stack = new ServiceStack();
  try {
    await stack.createDatabase();
    await stack.startApi({ MAX_SSE_STREAMS: '0', ...env });
    const api = new ApiClient(stack.baseUrl, await stack.issueKey('bench'));
    const res = await api.request<{ id: string }>('POST', '/v1/batches', {
      params: { gen_length: 16 },
      items: Array.from({ length: items }, (_, i) => ({
        custom_id: `a${i}`,
        prompt: `def f${i}(x):`,
      })),
    });
    if (res.status !== 201) throw new Error(`submit answered ${res.status}`);
    await new Promise((r) => setTimeout(r, 3000));
    const rounds = [];
    for (let r = 0; r < 3; r++) rounds.push(await reads(api, res.body.id));
    return rounds;
  } finally {
    await stack.teardown();
  }
}

void (async () => {
  const items = Number(process.argv[2] ?? 100_000);
  const repairDefault = await measure(items, {});
  const repairOff = await measure(items, { RECONCILE_INTERVAL_MS: '3600000' });
  const load = loadavg();
  process.stdout.write(
    JSON.stringify({ items, load, repair_default: repairDefault, repair_off: repairOff }) + '\n',
  );
})();
