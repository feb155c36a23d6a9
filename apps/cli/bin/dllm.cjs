#!/usr/bin/env node
// The `dllm` command (package.json "bin"). It runs the TypeScript sources through tsx, a runtime
// dependency, so it works from a clean `npm ci` with no build step, from any working directory.
const { join } = require('node:path');

// tsx reads path aliases (@dllm/*) from this tsconfig, not from the caller's working directory.
process.env.TSX_TSCONFIG_PATH ??= join(__dirname, '..', '..', '..', 'tsconfig.json');
require('tsx/cjs/api').register();
const { runDllm } = require('../src/main.ts');

process.once('SIGINT', () => {
  process.stderr.write('\ndllm: interrupted (a submitted batch goes on: dllm status ID --wait)\n');
  process.exit(130);
});
runDllm(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
