import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiHarness } from './api-harness';

/** Puts the in-process API on a free loopback port, for clients in other processes (CLI, browser). */
export async function listen(api: ApiHarness): Promise<string> {
  const server = api.app.getHttpServer() as unknown as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
