// Preloaded into a service process (`NODE_OPTIONS=--import=<this file>`) by e2e/loaded-packages.e2e-spec.ts:
// appends the URL of every module the process resolves (ECMAScript modules, through a resolve hook)
// and, at exit, every CommonJS module in the require cache, one a line, to MODULE_RECORD_FILE.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.MODULE_RECORD_FILE;
if (file) {
  register('./module-recorder-hooks.mjs', import.meta.url, { data: { file } });
  const require = createRequire(import.meta.url);
  process.on('exit', () => appendFileSync(file, Object.keys(require.cache).map((path) => `file://${path}\n`).join('')));
}
