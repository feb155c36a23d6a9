import type { BatchView as Batch } from '@dllm/contract';
import { QUEUES } from '@dllm/shared';
import { MODEL_CATALOG, type ModelCatalog } from '../apps/api/src/model/served-model';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_KEY, ApiHarness } from './support/api-harness';
import { launchChromium, SCREENSHOTS } from './support/browser';
import { listen } from './support/listening-api';
import { startWorker, waitFor, type WorkerHandle } from './support/worker-process';

// The web dashboard at /ui in a real headless Chromium, against the real API (Postgres, Redis) and a
// worker process with the bundled model. Screenshots go to test-artifacts/screenshots/.
jest.setTimeout(240_000);

describe('web dashboard (/ui) in Chromium', () => {
  let api: ApiHarness;
  let worker: WorkerHandle;
  let url: string;
  let key: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** every request the page made, to prove it loads nothing from elsewhere and never puts the key in a URL */
  const requested: string[] = [];

  beforeAll(async () => {
    const dashboard = mkdtempSync(join(tmpdir(), 'dllm-web-'));
    execFileSync(process.execPath, ['--import', 'tsx', 'apps/web/build.ts', '--out', dashboard], {
      stdio: 'pipe',
    });
    api = await ApiHarness.start({
      BATCH_CHUNK_SIZE: '4',
      SSE_POLL_MS: '100',
      DASHBOARD_DIR: dashboard,
    });
    url = await listen(api);
    key = await api.keyFor('web-spec');
    worker = startWorker({
      DATABASE_URL: api.config.DATABASE_URL,
      QUEUE_PREFIX: api.config.QUEUE_PREFIX,
      WORKER_METRICS_PORT: String(19700 + Math.floor(Math.random() * 90)),
      BATCH_CHUNK_SIZE: '4',
      // Rows longer than 48 tokens fail at this worker: a real worker-side failure to retry.
      ENGINE_MAX_BATCH_TOKENS: '48',
    });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    await context.route('**/*', async (route) => {
      const target = route.request().url();
      requested.push(target);
      if (target.startsWith(url) || target.startsWith('data:') || target.startsWith('blob:'))
        await route.continue();
      else await route.abort();
    });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    worker?.child.kill('SIGTERM');
    await worker?.exited;
    await api?.close();
  });

  const shot = async (name: string, fullPage = false) => {
    await page.waitForTimeout(500); // let the progress bars' width transitions finish
    await page.screenshot({ path: join(SCREENSHOTS, `dashboard-${name}.png`), fullPage });
  };

  async function submit(body: object): Promise<Batch> {
    return (
      await api.http
        .post('/v1/batches')
        .set('Authorization', `Bearer ${key}`)
        .send(body)
        .expect(201)
    ).body as Batch;
  }

  const batchState = async (id: string) =>
    (await api.http.get(`/v1/batches/${id}`).set('Authorization', `Bearer ${key}`).expect(200))
      .body as Batch;
  const until = (id: string, statuses: string[]) =>
    waitFor(
      `batch ${statuses.join('|')}`,
      async () => {
        const b = await batchState(id);
        return statuses.includes(b.status) ? b : undefined;
      },
      120_000,
      150,
    );

  it('signs in with an API key kept in session storage only; a wrong key is refused', async () => {
    await page.goto(`${url}/ui/`);
    await page.fill('input[name=api-key]', 'dllm_not-a-real-key');
    await page.click('button[type=submit]');
    await page.getByRole('alert').getByText('invalid API key').waitFor();
    await shot('sign-in-refused');

    await page.fill('input[name=api-key]', key);
    await page.click('button[type=submit]');
    await page.getByRole('heading', { name: 'Batches' }).waitFor();
    // (a string: this file is compiled without the DOM's types)
    const storage = await page.evaluate(
      `({ session: sessionStorage.getItem('dllm.apiKey'), local: localStorage.length, cookie: document.cookie })`,
    );
    expect(storage).toEqual({ session: key, local: 0, cookie: '' });
  });

  it('history: filters by status and metadata, as the API does, and keeps them in the URL', async () => {
    const a = await submit({
      metadata: { project: 'alpha' },
      params: { gen_length: 4 },
      items: [{ custom_id: 'a', prompt: 'def a():' }],
    });
    const b = await submit({
      metadata: { project: 'beta' },
      params: { gen_length: 4 },
      items: [{ custom_id: 'b', prompt: 'def b():' }],
    });
    await until(a.id, ['completed']);
    await until(b.id, ['completed']);
    await page.goto(`${url}/ui/#/`);
    await page.locator(`tr[data-batch-id="${a.id}"]`).waitFor();
    await page.locator(`tr[data-batch-id="${b.id}"]`).waitFor();

    await page.click('button.chip[data-status=completed]');
    await page.fill('input[name=metadata]', 'project=beta');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(
      /status=completed.*metadata=project%3Dbeta|metadata=project%3Dbeta.*status=completed/,
    );
    // the URL changes before the filtered list arrives: until then the old list (a and b) is shown
    await page.locator(`tr[data-batch-id="${a.id}"]`).waitFor({ state: 'detached' });
    await page.locator(`tr[data-batch-id="${b.id}"]`).getByText('Completed').waitFor();
    expect(await page.locator('tbody tr[data-batch-id]').count()).toBe(1);
    await shot('history-filtered');

    await page.fill('input[name=metadata]', 'project=nothing-like-this');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No batch matches these filters.').waitFor();
    await page.getByRole('link', { name: 'Reset' }).click();
    await page.locator(`tr[data-batch-id="${a.id}"]`).waitFor();
  });

  it('batch page: live progress over SSE, throughput chart, histograms, results preview', async () => {
    const items = Array.from({ length: 16 }, (_, i) => ({
      custom_id: `live-${i}`,
      prompt: `def live_${i}(x):`,
    }));
    const batch = await submit({
      metadata: { project: 'live' },
      params: { policy: 'fixed', gen_length: 24 },
      items,
    });
    await page.goto(`${url}/ui/#/batches/${batch.id}`);
    await page.locator('.live').waitFor();
    const endedNow = async () =>
      Number(
        ((await page.locator('[data-field=ended]').innerText()).match(/^[\d,]+/) ?? [
          '0',
        ])[0].replace(/,/g, ''),
      );
    // The count moves on the page without a reload: progress events arrive over the stream.
    const first = await endedNow();
    await waitFor('progress on the page', async () => (await endedNow()) > first, 90_000, 100);
    await shot('batch-live');
    await page.locator('.badge[data-status=completed]').first().waitFor({ timeout: 120_000 });
    await page.locator('.live').waitFor({ state: 'detached' });
    expect(await endedNow()).toBe(16);

    // Charts are drawn (uPlot canvases) and the preview lists the items with their outputs.
    await waitFor('charts', async () => (await page.locator('.chart canvas').count()) >= 3, 10_000);
    await waitFor(
      'preview',
      async () => (await page.locator('.results-table tbody tr').count()) === 16,
      10_000,
    );
    expect(await page.locator('tr[data-custom-id="live-0"] pre.code').count()).toBe(2);
    const stats = (
      await api.http
        .get(`/v1/batches/${batch.id}/stats`)
        .set('Authorization', `Bearer ${key}`)
        .expect(200)
    ).body as {
      forwards_per_item: { bins: { count: number }[] };
      throughput: { points: { items: number }[] };
    };
    expect(stats.forwards_per_item.bins.reduce((s, b) => s + b.count, 0)).toBe(16);
    expect(stats.throughput.points.reduce((s, p) => s + p.items, 0)).toBe(16);
    await shot('batch-completed', true);
  });

  it('cancel from the batch page stops a running batch', async () => {
    const items = Array.from({ length: 32 }, (_, i) => ({
      custom_id: `c${i}`,
      prompt: `class C${i}:`,
    }));
    const batch = await submit({ params: { policy: 'fixed', gen_length: 32 }, items });
    await until(batch.id, ['in_progress']);
    await page.goto(`${url}/ui/#/batches/${batch.id}`);
    await page.click('button[data-action=cancel]');
    await page
      .getByText('Cancelling: queued items end now')
      .or(page.locator('.badge[data-status=cancelled]'))
      .first()
      .waitFor();
    await page.locator('.badge[data-status=cancelled]').first().waitFor({ timeout: 60_000 });
    expect((await batchState(batch.id)).status).toBe('cancelled');
    await shot('batch-cancelled');
  });

  it('retry from the batch page makes a linked batch of the failed items', async () => {
    const batch = await submit({
      metadata: { project: 'retry' },
      items: [
        { custom_id: 'fits', prompt: 'def ok():', params: { gen_length: 4 } },
        { custom_id: 'too-long-for-this-worker', prompt: 'def no():', params: { gen_length: 64 } },
      ],
    });
    await until(batch.id, ['completed']);
    await page.goto(`${url}/ui/#/batches/${batch.id}`);
    await page
      .locator('tr[data-custom-id=too-long-for-this-worker]')
      .getByText('exceeds the batch token limit')
      .waitFor();
    await shot('batch-with-failure', true);
    await page.click('button[data-action=retry]');
    await page.waitForURL((u) => !u.hash.includes(batch.id));
    await page.locator('a[data-link=retry-of]').waitFor();
    const retryId = /#\/batches\/([0-9a-f-]{36})/.exec(page.url())![1]!;
    expect(await page.locator('a[data-link=retry-of]').getAttribute('href')).toBe(
      `#/batches/${batch.id}`,
    );
    const retried = (
      await api.http
        .get(`/v1/batches/${retryId}/items`)
        .set('Authorization', `Bearer ${key}`)
        .expect(200)
    ).body as { data: { custom_id: string }[] };
    expect(retried.data.map((i) => i.custom_id)).toEqual(['too-long-for-this-worker']);
    // The same worker fails it again: the retry ends failed, every item failed.
    await page.locator('.badge[data-status=failed]').first().waitFor({ timeout: 60_000 });
    await shot('batch-retry');
  });

  it('playground: a generation diffuses step by step, every step streamed from the worker', async () => {
    await page.goto(`${url}/ui/#/playground`);
    await page.fill('textarea[name=prompt]', 'def fibonacci(n):\n');
    await page.selectOption('select[name=policy]', 'fixed');
    await page.locator('input[name=gen_length]').fill('32'); // prompt + canvas within this worker's 48 tokens
    await page.getByRole('button', { name: 'Generate' }).click();
    // An intermediate canvas: some positions already committed, some still masked.
    await waitFor(
      'a partly denoised canvas',
      async () => {
        const masks = await page.locator('[data-field=canvas] .mask').count();
        return masks > 0 && masks < 32;
      },
      60_000,
      20,
    );
    await page.locator('[data-field=result]').waitFor({ timeout: 60_000 });
    const forwards = Number(
      await page.locator('[data-field=result] dt:text-is("Forwards") + dd').innerText(),
    );
    expect(forwards).toBe(32); // fixed, one token per step
    await page.getByText(`Replay: step ${forwards} of ${forwards}`).waitFor();
    expect(await page.locator('[data-field=canvas] .mask').count()).toBe(0);
    await shot('playground-done');
    // Replay: halfway through, half the canvas is still masked.
    await page.locator('input[name=replay]').fill(String(forwards / 2 - 1));
    await page.getByText(`Replay: step ${forwards / 2} of ${forwards}`).waitFor();
    expect(await page.locator('[data-field=canvas] .mask').count()).toBe(16);
    await shot('playground-replay');
  });

  it('first run: no Queues link for tenants, a header that fits a phone, names shown as written', async () => {
    // the nav of a tenant has no link it cannot use (Bull Board takes the admin key)
    await page.goto(`${url}/ui/#/`);
    await page.getByRole('heading', { name: 'Batches' }).waitFor();
    expect(await page.locator('.topbar a[href="/admin/queues"]').count()).toBe(0);
    expect(await page.locator('.topbar').getByText('Queues').count()).toBe(0);

    // a batch from an uploaded file with a UTF-8 name, metadata with a right-to-left override
    const name = 'données_日本語_ü.jsonl';
    const line = JSON.stringify({
      custom_id: 'f1',
      method: 'POST',
      url: '/v1/completions',
      body: { prompt: 'def f(x):', max_tokens: 4 },
    });
    const file = (
      await api.http
        .post('/v1/files')
        .set('Authorization', `Bearer ${key}`)
        .field('purpose', 'batch')
        .attach('file', Buffer.from(`${line}\n`), name)
        .expect(200)
    ).body as { id: string; filename: string };
    expect(file.filename).toBe(name);
    const made = (
      await api.http
        .post('/v1/batches')
        .set('Authorization', `Bearer ${key}`)
        .send({
          input_file_id: file.id,
          endpoint: '/v1/completions',
          completion_window: '24h',
          metadata: { label: 'abc\u202Edef' },
        })
        .expect(201)
    ).body as Batch;
    await until(made.id, ['completed']);

    // the histogram of this batch as the API could send it: an empty bin between two full ones
    const bins = [
      { from: 4, to: 5, count: 3 },
      { from: 5, to: 6, count: 0 },
      { from: 6, to: 7, count: 2 },
    ];
    await page.route(`${url}/v1/batches/${made.id}/stats`, async (route) => {
      const real = (await (await route.fetch()).json()) as Record<string, unknown>;
      await route.fulfill({ json: { ...real, forwards_per_item: { bins } } });
    });
    await page.goto(`${url}/ui/#/batches/${made.id}`);
    await page.locator('[data-field=input-file] .file-name').waitFor();
    expect(await page.locator('[data-field=input-file] .file-name').innerText()).toBe(name);
    // the override is shown as a code point, inside an isolate, so "def" is not drawn reversed
    const tag = page.locator('.details .tag', { hasText: 'label=' });
    expect(await tag.innerText()).toBe('label=abc<U+202E>def');
    expect(await tag.locator('bdi').count()).toBe(1);

    // bars drawn in the forwards histogram: runs of columns holding its (teal) colour
    const card = page.locator('.card', {
      has: page.getByRole('heading', { name: 'Forwards per item' }),
    });
    await card.locator('canvas').waitFor();
    await page.waitForTimeout(300);
    // (typed by hand: this file is compiled without the DOM's types)
    type Pixels = { data: Uint8ClampedArray; width: number; height: number };
    type Canvas = {
      width: number;
      height: number;
      getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): Pixels };
    };
    const bars = await card.locator('canvas').evaluate((canvas: Canvas) => {
      const { data, width, height } = canvas
        .getContext('2d')
        .getImageData(0, 0, canvas.width, canvas.height);
      let runs = 0;
      let inRun = false;
      for (let x = 0; x < width; x++) {
        let teal = false;
        for (let y = 0; y < height && !teal; y++) {
          const i = (y * width + x) * 4;
          const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
          teal = a > 60 && g - r > 40 && b - r > 30;
        }
        if (teal && !inRun) runs++;
        inRun = teal;
      }
      return runs;
    });
    expect(bars).toBe(2);
    await shot('first-run-batch', true);
    await page.unroute(`${url}/v1/batches/${made.id}/stats`);

    // a phone: the header wraps inside the screen instead of running off it
    const phone = await browser.newContext({ viewport: { width: 375, height: 740 } });
    await phone.addInitScript(`sessionStorage.setItem('dllm.apiKey', ${JSON.stringify(key)})`);
    const small = await phone.newPage();
    await small.goto(`${url}/ui/#/`);
    await small.getByRole('heading', { name: 'Batches' }).waitFor();
    const fit = await small.evaluate<{ viewport: number; page: number; rightmost: number }>(
      `(() => ({
        viewport: window.innerWidth,
        page: document.documentElement.scrollWidth,
        rightmost: Math.max(...[...document.querySelectorAll('.topbar a, .topbar button')]
          .map((e) => e.getBoundingClientRect().right)),
      }))()`,
    );
    expect(fit.page).toBeLessThanOrEqual(fit.viewport);
    expect(fit.rightmost).toBeLessThanOrEqual(fit.viewport);
    await small.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone.png') });
    await phone.close();
  });

  it('playground defaults: the engine default threshold, a prompt the model continues, what the model is', async () => {
    await page.goto(`${url}/ui/#/playground`);
    await page.locator('[data-field=model]').getByText('dllm-code-small').waitFor();
    expect(await page.locator('[data-field=model]').innerText()).toMatch(/trained .* Python/);
    expect(await page.locator('textarea[name=prompt]').inputValue()).toBe('def fibonacci(n):');
    expect(await page.locator('select[name=policy]').inputValue()).toBe('threshold');
    expect(await page.locator('input[name=knob]').inputValue()).toBe('0.9');
    await page.locator('input[name=gen_length]').fill('32'); // prompt + canvas within this worker's 48 tokens
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.locator('[data-field=result]').waitFor({ timeout: 60_000 });
    const text = await page.locator('[data-field=canvas] .canvas-gen').innerText();
    // not a screen of "#": words, as the model writes them after a signature
    expect(text.replace(/[#\s]/g, '').length).toBeGreaterThan(text.length / 3);
    expect(text).toMatch(/[A-Za-z]{3}/);
    await shot('playground-defaults');
  });

  it('Bull Board at /admin/queues needs the admin key', async () => {
    // (a browser would ask for the key: the 401 carries a Basic challenge)
    const refused = await context.request.get(`${url}/admin/queues`);
    expect(refused.status()).toBe(401);
    expect(refused.headers()['www-authenticate']).toMatch(/^Basic /);
    const asTenant = `Basic ${Buffer.from(`admin:${key}`).toString('base64')}`;
    expect(
      (
        await context.request.get(`${url}/admin/queues`, { headers: { authorization: asTenant } })
      ).status(),
    ).toBe(401);

    const admin = await browser.newContext({
      httpCredentials: { username: 'admin', password: ADMIN_KEY },
      viewport: { width: 1366, height: 800 },
    });
    const sent: string[] = [];
    await admin.route('**/*', async (route) => {
      sent.push(route.request().url()); // what reaches the network: a request blocked by the policy never does
      await (route.request().url().startsWith(url) ? route.continue() : route.abort());
    });
    const board = await admin.newPage();
    expect((await board.goto(`${url}/admin/queues`))?.status()).toBe(200);
    await board
      .getByText(/\d+ Jobs/)
      .first()
      .waitFor(); // the chunk queue's card, with its counts
    expect(await board.getByText('dllm-chunks').count()).toBeGreaterThanOrEqual(2);
    // Its page names a web font on a CDN; the policy keeps the browser from fetching it.
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.filter((u) => !u.startsWith(url))).toEqual([]);
    await board.screenshot({ path: join(SCREENSHOTS, 'dashboard-queues.png') });
    await admin.close();
    const listed = (
      await api.http
        .get('/admin/queues/api/queues')
        .set('Authorization', `Bearer ${ADMIN_KEY}`)
        .expect(200)
    ).body as { queues: { name: string }[] };
    // every queue of the queue table, not only the chunks: each model's two, and the webhooks
    const models = api.app.get<ModelCatalog>(MODEL_CATALOG).map((m) => m.name);
    expect(listed.queues.map((q) => q.name).sort()).toEqual(
      [
        ...models.flatMap((m) => [QUEUES.chunks.name(m), QUEUES.interactive.name(m)]),
        QUEUES.webhooks.name(),
      ].sort(),
    );
  });

  it('loaded nothing from outside this API and never put the key in a URL', () => {
    expect(requested.length).toBeGreaterThan(10);
    expect(
      requested.filter(
        (u) => !u.startsWith(url) && !u.startsWith('data:') && !u.startsWith('blob:'),
      ),
    ).toEqual([]);
    expect(requested.filter((u) => u.includes(key))).toEqual([]);
  });
});
