import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../ports';

const BIN = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();

/** Runs a Postgres binary as the postgres user (initdb and postgres refuse root). */
function asPostgres(binary: string, args: string[]): string {
  const command = join(BIN, binary);
  const root = process.getuid?.() === 0;
  return execFileSync(
    root ? 'runuser' : command,
    root ? ['-u', 'postgres', '--', command, ...args] : args,
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

/**
 * A Postgres cluster of the test's own (initdb into a temporary directory, its own port and
 * socket directory), so a test can stop it without touching the shared server. fsync is off:
 * the tests stop it cleanly, never pull the plug, and the machine is shared.
 */
export class PostgresInstance {
  private running = false;

  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  static async create(): Promise<PostgresInstance> {
    const dir = mkdtempSync(join(tmpdir(), 'dllm-chaos-pg-'));
    const data = join(dir, 'data');
    mkdirSync(data);
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
      chownSync(data, uid, gid);
    }
    asPostgres('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--locale=C',
    ]);
    const pg = new PostgresInstance(await freePort(), dir);
    await pg.start();
    return pg;
  }

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  start(): Promise<void> {
    asPostgres('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'server.log'),
      '-o',
      `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c fsync=off -c max_connections=300`,
      '-w',
      'start',
    ]);
    this.running = true;
    return Promise.resolve();
  }

  /** Stops the server (fast: open connections are terminated, as in a real outage). */
  stop(): Promise<void> {
    if (this.running)
      asPostgres('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
    this.running = false;
    return Promise.resolve();
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
