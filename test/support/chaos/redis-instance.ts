import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { waitFor } from '../wait-for';
import { freePort } from '../ports';

/**
 * A Redis of the test's own (own port, own data directory), configured as docker-compose.yml
 * runs production's: AOF every second, noeviction. Killing and restarting it replays its AOF.
 */
export class RedisInstance {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async start(): Promise<RedisInstance> {
    const redis = new RedisInstance(
      await freePort(),
      mkdtempSync(join(tmpdir(), 'dllm-chaos-redis-')),
    );
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitFor(`redis on ${this.port}`, () => this.ping(), 20_000, 50);
  }

  /** Kills the server (SIGKILL: no final AOF flush beyond what everysec already wrote). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.child?.kill(signal);
    await this.exited;
    this.child = null;
  }

  /** A client of this instance (the caller disconnects it). */
  client(): Redis {
    return new Redis(this.url, { maxRetriesPerRequest: 1, lazyConnect: false });
  }

  async usedMemory(): Promise<number> {
    const c = this.client();
    try {
      const info = await c.info('memory');
      return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
    } finally {
      c.disconnect();
    }
  }

  async stop(): Promise<void> {
    await this.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async ping(): Promise<boolean> {
    const c = new Redis(this.url, {
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
      return (await c.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      c.disconnect();
    }
  }
}
