/**
 * Builds the web dashboard into DASHBOARD_DIR's default (dist/web): one script, one stylesheet and
 * the HTML shell, with every library (Preact, uPlot) bundled in. Nothing is loaded from elsewhere.
 *   npm run build:web [-- --out DIR] [--watch]
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build, context, type BuildOptions } from 'esbuild';

const args = process.argv.slice(2);
const outIndex = args.indexOf('--out');
const outDir = resolve(outIndex >= 0 ? args[outIndex + 1]! : 'dist/web');
const here = __dirname;

const options: BuildOptions = {
  entryPoints: { app: join(here, 'src/main.tsx') },
  bundle: true,
  outdir: outDir,
  format: 'iife',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  tsconfig: join(here, 'tsconfig.json'),
  logLevel: 'warning',
};

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  copyFileSync(join(here, 'index.html'), join(outDir, 'index.html'));
  copyFileSync(join(here, 'favicon.svg'), join(outDir, 'favicon.svg'));
  if (args.includes('--watch')) {
    await (await context(options)).watch();
    console.log(`watching; writing to ${outDir}`);
    return;
  }
  const result = await build({ ...options, metafile: true });
  const bytes = Object.entries(result.metafile.outputs)
    .filter(([file]) => !file.endsWith('.map') && !file.endsWith('.txt'))
    .map(([file, o]) => `${file.split('/').pop()} ${(o.bytes / 1024).toFixed(1)} KiB`);
  console.log(`dashboard built -> ${outDir} (${bytes.join(', ')})`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
