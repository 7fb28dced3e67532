// The image's entry point: `<service>` starts that service, `admin <command…>` runs ciba-admin.
// With no argument, CIBA_SERVICE names the service; with neither, it says how to use it (exit 64).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const COMMANDS = ['authorize', 'token', 'notifier', 'audit', 'callback-dispatcher', 'step-up-gateway', 'admin'];
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [name = process.env.CIBA_SERVICE, ...rest] = process.argv.slice(2);

if (!name || !COMMANDS.includes(name)) {
  process.stderr.write(`usage: <${COMMANDS.join(' | ')}> [arguments]${name ? ` (got "${name}")` : ''}\n`);
  process.exit(64);
}
const main = join(root, 'apps', name, 'dist', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`${name} is not built into this image (${main})\n`);
  process.exit(70);
}
// The program sees the arguments meant for it, as if started directly.
process.argv = [process.argv[0], main, ...rest];
await import(main);
