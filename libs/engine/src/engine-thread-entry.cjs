// Worker-thread entry when running from TypeScript sources (tsx, jest): load engine-thread.ts
// through tsx. Built code starts the compiled engine-thread.js directly (see engine.ts).
require('tsx/cjs/api').register();
require(require('node:path').join(__dirname, 'engine-thread.ts'));
