/**
 * Builds the dashboard and/or the API only when a source is newer than the last successful build,
 * so `npm run start:api` starts in seconds after the first time instead of compiling every start.
 *   tsx tools/build/build-if-stale.ts [web] [api] [--force]
 * A build's stamp (in its output folder) carries the time the build began: a file saved while it
 * ran is newer than the stamp, so the next start builds again.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface Target {
  /** what the build reads: folders are walked (spec files skipped), files taken as they are */
  inputs: string[];
  /** a file the build must have written, besides the stamp */
  output: string;
  stamp: string;
  command: [string, ...string[]];
}

const ROOT = resolve(__dirname, '../..');
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name);
const SHARED_INPUTS = ['package-lock.json', 'tsconfig.json'];

export const TARGETS: Record<string, Target> = {
  web: {
    inputs: ['apps/web', ...SHARED_INPUTS],
    output: 'dist/web/app.js',
    stamp: 'dist/web/.build-stamp',
    command: [bin('tsx'), 'apps/web/build.ts'],
  },
  api: {
    inputs: ['apps/api', 'libs/engine/src', 'libs/shared/src', 'nest-cli.json', ...SHARED_INPUTS],
    output: 'dist/apps/api/apps/api/src/main.js',
    stamp: 'dist/apps/api/.build-stamp',
    command: [bin('nest'), 'build', 'api'],
  },
};

/** Newest modification time (ms) among the inputs; spec files do not go into a build. */
export function newestInput(paths: string[], root = ROOT): number {
  let newest = 0;
  const visit = (path: string): void => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    if (stat.isDirectory()) {
      for (const name of readdirSync(path)) {
        if (name === 'node_modules') continue;
        visit(join(path, name));
      }
    } else if (!/\.spec\.tsx?$/.test(path)) newest = Math.max(newest, stat.mtimeMs);
  };
  for (const path of paths) visit(join(root, path));
  return newest;
}

/** Why a target must be built, or null when its last build is newer than all its inputs. */
export function staleReason(target: Target, root = ROOT): string | null {
  const stamp = statSync(join(root, target.stamp), { throwIfNoEntry: false });
  if (!stamp || !existsSync(join(root, target.output))) return 'not built yet';
  return newestInput(target.inputs, root) > stamp.mtimeMs ? 'sources changed' : null;
}

/** Builds `target` when it is stale (or `force`); says on stderr what it did. */
export function ensureBuilt(
  name: string,
  target: Target,
  options: { root?: string; force?: boolean } = {},
): 'built' | 'up to date' {
  const root = options.root ?? ROOT;
  const reason = options.force ? 'forced' : staleReason(target, root);
  if (reason === null) {
    console.error(`${name}: up to date, not rebuilt`);
    return 'up to date';
  }
  console.error(`${name}: building (${reason})`);
  const began = new Date();
  const started = performance.now();
  execFileSync(target.command[0], target.command.slice(1), { cwd: root, stdio: 'inherit' });
  const stamp = join(root, target.stamp);
  writeFileSync(stamp, `${began.toISOString()}\n`);
  utimesSync(stamp, began, began);
  console.error(`${name}: built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return 'built';
}

function main(): void {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const names = args.filter((a) => !a.startsWith('--'));
  for (const name of names.length > 0 ? names : Object.keys(TARGETS)) {
    const target = TARGETS[name];
    if (!target) throw new Error(`unknown build target "${name}" (known: web, api)`);
    ensureBuilt(name, target, { force });
  }
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
