// Jest transform for ESM-only packages (Nest 12 ships pure ESM). Jest can only require() ESM
// natively on Node >= 24.9, so on Node 20 these files are compiled to CommonJS here.
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const esbuild = require('esbuild');

const self = readFileSync(__filename);

/** @type {import('@jest/transform').SyncTransformer} */
module.exports = {
  process(source, filename) {
    const { code, map } = esbuild.transformSync(source, {
      format: 'cjs',
      loader: 'js',
      target: 'node20',
      sourcefile: filename,
      sourcemap: true,
      // CommonJS has no import.meta; Nest uses it for createRequire(import.meta.url).
      define: { 'import.meta.url': '__esmToCjsImportMetaUrl' },
      banner: 'const __esmToCjsImportMetaUrl = require("node:url").pathToFileURL(__filename).href;',
    });
    return { code, map };
  },
  getCacheKey(source, filename) {
    return createHash('sha256')
      .update(self)
      .update(esbuild.version)
      .update(filename)
      .update(source)
      .digest('hex');
  },
};
