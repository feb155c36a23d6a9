import type { Server } from 'node:http';
import { connect } from 'node:net';
import { ApiHarness } from './support/api-harness';
import { listenOnFreePort } from './support/ports';

/**
 * The configured HTTP timeouts fire on time: Node checks them only every
 * connectionsCheckingInterval (30 s unless lowered), so a 1 s header timeout used to fire at up
 * to 31 s and a slow client held its connection that long.
 */
describe('HTTP timeouts', () => {
  let api: ApiHarness;
  let port: number;

  beforeAll(async () => {
    api = await ApiHarness.start({
      API_HEADERS_TIMEOUT_MS: '1000',
      API_REQUEST_TIMEOUT_MS: '2000',
    });
    const server = api.app.getHttpServer() as Server;
    port = await listenOnFreePort(server);
  });

  afterAll(async () => {
    await api?.close();
  });

  /** Sends `first`, never the rest; resolves with what came back and when the server hung up. */
  const stall = (first: string) =>
    new Promise<{ text: string; ms: number }>((resolve) => {
      const started = Date.now();
      const socket = connect(port, '127.0.0.1', () => socket.write(first));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve({ text, ms: Date.now() - started }));
    });

  it('headers that never finish: 408 within API_HEADERS_TIMEOUT_MS plus a moment', async () => {
    const { text, ms } = await stall('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeLessThan(3000);
  });

  it('a body that never finishes: 408 within API_REQUEST_TIMEOUT_MS plus a moment', async () => {
    const { text, ms } = await stall(
      'POST /v1/admin/api-keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"ten',
    );
    expect(text).toMatch(/^HTTP\/1\.1 408/);
    expect(ms).toBeLessThan(4000);
  });
});
