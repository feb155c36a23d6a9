import type { Server } from 'node:http';
import type { ApiHarness } from './api-harness';
import { listenOnFreePort } from './ports';

/** Puts the in-process API on a free loopback port, for clients in other processes (CLI, browser). */
export async function listen(api: ApiHarness): Promise<string> {
  return `http://127.0.0.1:${await listenOnFreePort(api.app.getHttpServer() as unknown as Server)}`;
}
