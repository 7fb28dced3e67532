#!/usr/bin/env node
import 'reflect-metadata';
import { parseArgs } from 'node:util';
import { Logger } from '@nestjs/common';
import { ConfigError, loadConfig, maxTokenLifetime, readBootstrapFile } from '@ciba/config';
import { type LifecycleEvent, outcomeEvent, systemClock } from '@ciba/domain';
import {
  PostgresDurableQueueStore,
  TypeOrmAuditChain,
  TypeOrmAuthRequestRepository,
  TypeOrmCallbackDeliveryRepository,
  TypeOrmClientRepository,
  TypeOrmDeviceRepository,
  TypeOrmEnrolmentTokenRepository,
  TypeOrmPasskeyRepository,
  TypeOrmSigningKeyRepository,
  TypeOrmUserCodeStore,
  TypeOrmUserRepository,
  createDataSource,
  runMigrations,
} from '@ciba/persistence';
import {
  KEY_ACTIVATION_DELAY_MS,
  KEY_REFRESH_INTERVAL_MS,
  busTopology,
  configuredSectorIdentifierDocuments,
  databaseOptions,
  deviceTargetSealer,
  ensureBusTopology,
  loadBootstrap,
  natsConnectionOptions,
  notificationEndpointPolicy,
} from '@ciba/platform';
import { DeviceEnrolment, ENROLMENT_VIAS, EnrolmentRefused, type EnrolmentVia, channelsFromEnvironment } from '@ciba/service-notifier';
import { InProcessEventPublisher, JetStreamEventPublisher, connectNats } from '@ciba/messaging';
import type { DataSource } from 'typeorm';
import type { ProviderConfig } from '@ciba/config';
import { KeyEncryptor, KeyStore, SecretHasher } from '@ciba/tokens';
import { userCodeCommand } from './user-code.command.js';
import { withUnsealedKeys } from '@ciba/service-audit';
import { auditVerifyCommand, parseFromCheckpoint } from './audit-verify.command.js';
import { auditPruneCommand, parseBefore } from './audit-prune.command.js';

const USAGE = `usage: ciba-admin <command>

commands:
  migrate                 apply pending database migrations
  bootstrap [--file F]    load clients and users from the bootstrap file (CIBA_BOOTSTRAP_FILE); idempotent
  keys rotate             generate a new signing key for every algorithm in CIBA_SIGNING_ALGS; the old
                          public keys stay published until the tokens they signed have expired
                          (CIBA_ACCESS_TOKEN_TTL / CIBA_ID_TOKEN_TTL)
  keys list               list published signing keys of every algorithm (kid, alg, created, retired,
                          unpublish after); creates a missing algorithm's first key
  streams ensure          create or update the JetStream streams (CIBA_NATS_STREAM_REPLICAS replicas), their
                          durable consumers and the poll-state bucket on CIBA_NATS_SERVERS; idempotent
  callbacks failed        list ping/push callbacks given up (dead letters): id, client, attempts, reason
  callbacks redeliver ID [--bus in-process]
                          reopen a failed callback and hand it to the callback dispatcher again
                          (JetStream by default; --bus in-process for the all-in-one start)
  devices list SUB        list a user's registered devices for device push and passkeys for step-up
                          (id, kind, label, dates; never a target or credential)
  devices revoke SUB ID   end one of the user's device registrations, or remove one of their passkeys
  devices enrol-link SUB [--via email|sms] [--print]
                          send the user a one-time device enrolment link to their verified email
                          address (default) or phone number, through the configured channel
                          (CIBA_EMAIL_VENDOR / CIBA_SMS_VENDOR); --print also shows the link
                          (development only: whoever has it can enrol a device for the user)
  users set-code SUB      set the user's CIBA user_code, read from standard input (first line; never
                          give it as an argument), stored as a scrypt hash
  users clear-code SUB    remove the user's user_code (clients registered for user codes then get
                          invalid_user_code for them)
  audit verify [--from-checkpoint SEQ]
                          recompute the audit trail's hash chain and check its signed checkpoints;
                          names the first edited, deleted or reordered row (seq, event id) and exits 1;
                          --from-checkpoint starts at a signed checkpoint (after older rows were pruned)
  audit prune [--before DATE] [--dry-run]
                          remove audit trail rows older than CIBA_AUDIT_RETENTION_DAYS (or DATE), up to
                          a signed checkpoint, and the evidence records of requests whose rows are all
                          gone; prints what it removed (--dry-run: what it would remove, removing nothing)

configuration comes from the environment (CIBA_DATABASE_URL, CIBA_KEY_ENCRYPTION_KEY, ...).`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { file: { type: 'string' }, bus: { type: 'string' }, via: { type: 'string' }, print: { type: 'boolean' }, help: { type: 'boolean' }, 'from-checkpoint': { type: 'string' }, before: { type: 'string' }, 'dry-run': { type: 'boolean' } },
  });
  const command = positionals.slice(0, 2).join(' ');
  if (values.help || command === '') {
    process.stdout.write(`${USAGE}\n`);
    return command === '' && !values.help ? 64 : 0;
  }
  if (command === 'streams ensure') return ensureStreamsOnNats(loadConfig(process.env, 'admin', []));
  // Device targets are sealed with the key-encryption key.
  const needsKeys = command.startsWith('keys') || command === 'devices list' || command === 'devices revoke' || command === 'audit verify';
  const config = loadConfig(process.env, 'admin', needsKeys ? ['database', 'keys'] : ['database']);
  if (command === 'callbacks redeliver' && positionals.length !== 3) throw new ConfigError(['callbacks redeliver: name one callback id (see `callbacks failed`)']);
  if ((command === 'devices list' || command === 'devices enrol-link') && positionals.length !== 3) throw new ConfigError([`${command}: name one user (sub)`]);
  if ((command === 'users set-code' || command === 'users clear-code') && positionals.length !== 3) throw new ConfigError([`${command}: name one user (sub); the code comes from standard input`]);
  if (command === 'devices revoke' && positionals.length !== 4) throw new ConfigError(['devices revoke: name the user (sub) and one device id (see `devices list`)']);
  const via = values.via ?? 'email';
  const fromCheckpoint = command === 'audit verify' ? parseFromCheckpoint(values['from-checkpoint']) : undefined;
  const pruneBefore = command === 'audit prune' ? parseBefore(values.before, systemClock.now()) : undefined;
  if (command === 'devices enrol-link' && !(ENROLMENT_VIAS as readonly string[]).includes(via)) throw new ConfigError([`--via: expected ${ENROLMENT_VIAS.join(' or ')}`]);
  // No statement timeout: a migration may rightly run for long.
  const dataSource = createDataSource({ ...databaseOptions(config), statementTimeoutMs: 0 });
  await dataSource.initialize();
  try {
    switch (command) {
      case 'migrate': {
        const applied = await runMigrations(dataSource);
        process.stdout.write(applied.length === 0 ? 'database is up to date\n' : `applied ${applied.map((m) => m.name).join(', ')}\n`);
        return 0;
      }
      case 'bootstrap': {
        const file = values.file ?? config.bootstrapFile;
        if (!file) throw new ConfigError(['CIBA_BOOTSTRAP_FILE (or --file): required for bootstrap']);
        const result = await loadBootstrap(await readBootstrapFile(file), {
          clients: new TypeOrmClientRepository(dataSource),
          users: new TypeOrmUserRepository(dataSource),
          hasher: new SecretHasher(),
          signingAlgs: config.keys.signingAlgs,
          endpoints: notificationEndpointPolicy(config),
          encryptor: config.keys.encryptionKey ? new KeyEncryptor(config.keys.encryptionKey) : null,
          userCodes: new TypeOrmUserCodeStore(dataSource),
          sectorDocuments: configuredSectorIdentifierDocuments(config),
        });
        process.stdout.write(
          `clients: ${result.clients.written} written, ${result.clients.unchanged} unchanged; users: ${result.users.written} written, ${result.users.unchanged} unchanged\n`,
        );
        return 0;
      }
      case 'keys rotate':
      case 'keys list': {
        const repository = new TypeOrmSigningKeyRepository(dataSource);
        const keyStore = new KeyStore({
          repository,
          encryptor: new KeyEncryptor(config.keys.encryptionKey),
          clock: systemClock,
          algs: config.keys.signingAlgs,
          activationDelayMs: KEY_ACTIVATION_DELAY_MS,
        });
        await keyStore.init();
        if (command === 'keys rotate') {
          // A replica may keep signing with the old key until its next key refresh after activation.
          const lifetime = maxTokenLifetime(config) + KEY_REFRESH_INTERVAL_MS / 1000;
          for (const key of await keyStore.rotate(lifetime)) {
            process.stdout.write(`new signing key ${key.kid} (${key.alg}), published now, signing from ${key.activatesAt.toISOString()}\n`);
          }
          process.stdout.write('previous keys stay published until the tokens they signed have expired\n');
        }
        for (const k of await repository.listPublished(new Date())) {
          process.stdout.write(
            `${k.kid}  ${k.alg}  created ${k.createdAt.toISOString()}  ${k.retiredAt ? `retired ${k.retiredAt.toISOString()}  unpublish after ${k.unpublishAfter?.toISOString() ?? '-'}` : 'active'}\n`,
          );
        }
        return 0;
      }
      case 'callbacks failed': {
        const failed = await new TypeOrmCallbackDeliveryRepository(dataSource).listFailed(500);
        if (failed.length === 0) process.stdout.write('no failed callbacks\n');
        for (const d of failed) {
          process.stdout.write(`${d.id}  ${d.clientId}  ${d.kind}  attempts ${d.attempts}  ${d.lastError ?? '-'}  created ${d.createdAt.toISOString()}\n`);
        }
        return 0;
      }
      case 'callbacks redeliver': {
        const id = positionals[2];
        const deliveries = new TypeOrmCallbackDeliveryRepository(dataSource);
        const delivery = await deliveries.find(id);
        const request = delivery ? await new TypeOrmAuthRequestRepository(dataSource).findById(delivery.requestId) : null;
        if (!delivery || !request) {
          process.stderr.write(`no callback ${id}\n`);
          return 1;
        }
        if (!(await deliveries.reopen(id))) {
          process.stderr.write(`callback ${id} is ${delivery.status}, not failed: nothing to redeliver\n`);
          return 1;
        }
        await redeliver(outcomeEvent(request, delivery.trigger), `${id}:redeliver:${Date.now()}`, values.bus === 'in-process', config, dataSource);
        process.stdout.write(`callback ${id} handed to the callback dispatcher again\n`);
        return 0;
      }
      case 'devices list': {
        const sub = positionals[2];
        const devices = await deviceRepository(config, dataSource).listActive(sub, systemClock.now());
        const passkeys = await new TypeOrmPasskeyRepository(dataSource).list(sub);
        if (devices.length === 0 && passkeys.length === 0) process.stdout.write(`no active devices for ${sub}\n`);
        for (const d of devices) {
          process.stdout.write(
            `${d.id}  ${d.target.kind}  ${JSON.stringify(d.label ?? '-')}  created ${d.createdAt.toISOString()}  expires ${d.expiresAt.toISOString()}  last used ${d.lastUsedAt?.toISOString() ?? '-'}  registered by ${d.clientId === null ? 'enrolment link' : `client ${d.clientId}`}\n`,
          );
        }
        for (const p of passkeys) {
          process.stdout.write(
            `${p.id}  passkey  ${JSON.stringify(p.label ?? '-')}  created ${p.createdAt.toISOString()}  last used ${p.lastUsedAt?.toISOString() ?? '-'}\n`,
          );
        }
        return 0;
      }
      case 'devices revoke': {
        const [, , sub, id] = positionals as [string, string, string, string];
        // Audited: the notifier's sweeper publishes the revocation (device.revoked, via admin) to the trail.
        if (UUID.test(id) && (await deviceRepository(config, dataSource).revoke(sub, id, 'revoked', systemClock.now(), { via: 'admin' }))) {
          process.stdout.write(`device ${id} revoked\n`);
          return 0;
        }
        if (UUID.test(id) && (await new TypeOrmPasskeyRepository(dataSource).revoke(sub, id))) {
          process.stdout.write(`passkey ${id} removed\n`);
          return 0;
        }
        process.stderr.write(`no active device ${id} for ${sub}\n`);
        return 1;
      }
      case 'devices enrol-link': {
        const sub = positionals[2];
        // The CLI's own lines are its output; the service's info logs would only repeat them.
        Logger.overrideLogger(['error']);
        const channels = channelsFromEnvironment(process.env);
        try {
          const enrolment = new DeviceEnrolment(new TypeOrmUserRepository(dataSource), new TypeOrmEnrolmentTokenRepository(dataSource), channels, systemClock, config);
          const sent = await enrolment.sendLink(sub, via as EnrolmentVia);
          if (sent.outcome.kind !== 'sent') {
            process.stderr.write(`the ${via} channel did not deliver the enrolment link (${sent.outcome.kind}: ${sent.outcome.reason}); the link was not printed\n`);
            return 1;
          }
          process.stdout.write(`enrolment link for ${sub} sent by ${via}; it works once, until ${sent.expiresAt.toISOString()}\n`);
          if (values.print) process.stdout.write(`${sent.enrolUrl}\n`);
          return 0;
        } catch (err) {
          if (!(err instanceof EnrolmentRefused)) throw err;
          process.stderr.write(`no enrolment link sent: ${err.message}\n`);
          return 1;
        } finally {
          await Promise.allSettled(
            [channels.email, channels.sms, ...channels.devicePush].map(async (channel) => {
              await channel?.close?.();
            }),
          );
        }
      }
      case 'users set-code':
      case 'users clear-code':
        return await userCodeCommand(command, positionals[2], {
          store: new TypeOrmUserCodeStore(dataSource),
          hasher: new SecretHasher(),
          input: process.stdin,
          out: (line) => process.stdout.write(`${line}\n`),
          err: (line) => process.stderr.write(`${line}\n`),
        });
      case 'audit verify':
        // Checkpoint signatures are checked against the signing keys that unseal with the key-encryption key.
        return await auditVerifyCommand(withUnsealedKeys(new TypeOrmAuditChain(dataSource), new KeyEncryptor(config.keys.encryptionKey)), fromCheckpoint, {
          out: (line) => process.stdout.write(`${line}\n`),
          err: (line) => process.stderr.write(`${line}\n`),
        });
      case 'audit prune':
        return await auditPruneCommand(
          new TypeOrmAuditChain(dataSource),
          { before: pruneBefore, retentionDays: config.auditRetention?.days ?? 0, dryRun: values['dry-run'] === true, now: systemClock.now() },
          { out: (line) => process.stdout.write(`${line}\n`), err: (line) => process.stderr.write(`${line}\n`) },
        );
      default:
        process.stderr.write(`unknown command: ${command}\n${USAGE}\n`);
        return 64;
    }
  } finally {
    await dataSource.destroy();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function deviceRepository(config: ProviderConfig, dataSource: DataSource): TypeOrmDeviceRepository {
  return new TypeOrmDeviceRepository(dataSource, deviceTargetSealer(new KeyEncryptor(config.keys.encryptionKey)));
}

/** Publishes `event` again under a fresh message id, on the deployment's bus. */
async function redeliver(event: LifecycleEvent, messageId: string, inProcess: boolean, config: ProviderConfig, dataSource: DataSource): Promise<void> {
  const topology = busTopology(config);
  if (inProcess) {
    await new InProcessEventPublisher({ store: new PostgresDurableQueueStore(dataSource), topology }).publish(event, { messageId });
    return;
  }
  const connection = await connectNats(natsConnectionOptions(config, 'ciba-admin'));
  try {
    await new JetStreamEventPublisher({ connection, topology }).publish(event, { messageId });
  } finally {
    await connection.drain();
  }
}

async function ensureStreamsOnNats(config: ProviderConfig): Promise<number> {
  const connection = await connectNats(natsConnectionOptions(config, 'ciba-admin'));
  try {
    const topology = await ensureBusTopology(connection, config);
    const streams = [topology.lifecycleStream, topology.deadLetterStream].map((stream) => stream.name).join(', ');
    process.stdout.write(`streams ${streams} (${config.nats.streamReplicas} replica(s)), ${topology.consumers.length} consumers and the poll-state bucket are up to date\n`);
    return 0;
  } finally {
    await connection.drain();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(err instanceof ConfigError ? 78 : 1);
  },
);
