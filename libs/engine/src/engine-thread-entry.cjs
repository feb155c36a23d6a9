// Worker-thread entry: the compiled engine-thread.js when built, else the TypeScript source via tsx.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const compiled = join(__dirname, 'engine-thread.js');
if (existsSync(compiled)) {
  require(compiled);
} else {
  require('tsx/cjs/api').register();
  require(join(__dirname, 'engine-thread.ts'));
}
