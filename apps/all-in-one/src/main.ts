import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@ciba/config';
import { listen, runService } from '@ciba/platform';
import { createAllInOneApp, prepareDatabase } from './all-in-one.js';
import { type EmbeddedDatabase, startEmbeddedDatabase } from './embedded-database.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Every service module in one process on one port: the same code paths as the distributed
 * services, with an embedded PostgreSQL and an in-process bus (durable work in a PostgreSQL table)
 * instead of external servers. Seeds the demo client and users.
 */
await runService(async () => {
  const env: Record<string, string | undefined> = { ...process.env };
  const dataDir = resolve(env['CIBA_DATA_DIR'] ?? join(repoRoot, '.data'));
  let embedded: EmbeddedDatabase | null = null;
  if (!env['CIBA_DATABASE_URL']) {
    embedded = await startEmbeddedDatabase(dataDir, Number(env['CIBA_EMBEDDED_DATABASE_PORT'] ?? 54329));
    env['CIBA_DATABASE_URL'] = embedded.url;
  }
  env['CIBA_KEY_ENCRYPTION_KEY'] ??= await developmentKey(dataDir);
  env['CIBA_BOOTSTRAP_FILE'] ??= join(repoRoot, 'config/demo-bootstrap.json');
  const port = env['CIBA_PORT'] ?? '3000';
  env['CIBA_AUTH_CHANNEL_URI'] ??= `http://127.0.0.1:${port}/dev/device`;
  const config = loadConfig(env, 'all-in-one', ['database', 'keys']);

  await prepareDatabase(config);
  const db = embedded;
  const app = await createAllInOneApp(config, { devDevice: true, onShutdown: db ? () => db.stop() : undefined });
  const url = await listen(app, config);
  printWelcome(config.issuer);
  return { app, url };
});

async function developmentKey(dataDir: string): Promise<string> {
  const file = join(dataDir, 'key-encryption-key');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  await mkdir(dataDir, { recursive: true });
  const key = randomBytes(32).toString('base64');
  await writeFile(file, `${key}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return key;
}

function printWelcome(issuer: string): void {
  process.stdout.write(
    [
      '',
      `CIBA provider (all-in-one) at ${issuer}`,
      `  discovery:     ${issuer}/.well-known/openid-configuration`,
      '  demo client:   demo-client / demo-client-secret-change-me (poll mode)',
      '  demo users:    alice (alice@example.com), bob (bob@example.com)',
      '',
      'Try a flow:',
      `  curl -s -u demo-client:demo-client-secret-change-me -d scope=openid -d login_hint=alice -d "binding_message=Approve login W4SCT" ${issuer}/bc-authorize`,
      `  curl -s ${issuer}/dev/device/notifications        # the decision token sent to the device`,
      `  curl -s -X POST -H "Authorization: Bearer <decisionToken>" -H 'Content-Type: application/json' -d '{"status":"SUCCEED"}' ${issuer}/ext/ciba/auth/callback`,
      `  curl -s -u demo-client:demo-client-secret-change-me -d grant_type=urn:openid:params:grant-type:ciba -d auth_req_id=<auth_req_id> ${issuer}/token`,
      '',
    ].join('\n'),
  );
}
