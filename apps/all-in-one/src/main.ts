import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@ciba/config';
import { listen, runService } from '@ciba/platform';
import type { ChannelKind } from '@ciba/channels';
import { createAllInOneApp, prepareDatabase } from './all-in-one.js';
import { DevInbox, allInOneChannels } from './dev-inbox/index.js';
import { type EmbeddedDatabase, startEmbeddedDatabase } from './embedded-database.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Every service module in one process on one port: the same code paths as the distributed
 * services, with an embedded PostgreSQL and an in-process bus (durable work in a PostgreSQL table)
 * instead of external servers. Seeds the demo client and users. Email, SMS and device push go to the
 * development inbox (/dev/inbox) unless a vendor is configured for them.
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
  const config = loadConfig(env, 'all-in-one', ['database', 'keys']);
  const inbox = new DevInbox();
  const { channels, inboxKinds } = allInOneChannels(env, inbox);

  await prepareDatabase(config);
  const db = embedded;
  // /dev/device stays mounted for anyone who points CIBA_AUTH_CHANNEL_URI at it.
  const app = await createAllInOneApp(config, {
    devDevice: true,
    devInbox: { inbox, kinds: inboxKinds },
    channels,
    onShutdown: db ? () => db.stop() : undefined,
  });
  const url = await listen(app, config);
  printWelcome(config.issuer, inboxKinds, Boolean(config.authChannel.uri));
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

function printWelcome(issuer: string, inboxKinds: readonly ChannelKind[], httpChannel: boolean): void {
  const inbox = inboxKinds.length > 0 ? `${inboxKinds.join(', ')} (development only; nothing is sent)` : 'nothing (every kind has a vendor)';
  process.stdout.write(
    [
      '',
      `CIBA provider (all-in-one) at ${issuer}`,
      `  discovery:     ${issuer}/.well-known/openid-configuration`,
      '  demo client:   demo-client / demo-client-secret-change-me (poll mode)',
      '  demo users:    alice (alice@example.com), bob (bob@example.com)',
      `  dev inbox:     ${issuer}/dev/inbox receives ${inbox}`,
      httpChannel
        ? '  HTTP authentication channel: on (CIBA_AUTH_CHANNEL_URI)'
        : `  HTTP authentication channel: off (set CIBA_AUTH_CHANNEL_URI=${issuer}/dev/device to play the device at /dev/device)`,
      '',
      'Try a flow:',
      `  curl -s -u demo-client:demo-client-secret-change-me -d scope=openid -d login_hint=alice -d "binding_message=Approve login W4SCT" ${issuer}/bc-authorize`,
      `  open ${issuer}/dev/inbox, follow the approval link, press Approve   (or: curl -s ${issuer}/dev/inbox/messages)`,
      `  curl -s -u demo-client:demo-client-secret-change-me -d grant_type=urn:openid:params:grant-type:ciba -d auth_req_id=<auth_req_id> ${issuer}/token`,
      '',
    ].join('\n'),
  );
}
