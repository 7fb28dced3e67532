import { Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { DestinationStream } from 'pino';
import type { ProviderConfig } from '@ciba/config';
import type { Clock } from '@ciba/domain';
import type { ChannelKind, ConfiguredChannels } from '@ciba/channels';
import { readBootstrapFile } from '@ciba/config';
import { InProcessServer, InProcessWakeup } from '@ciba/messaging';
import { PostgresDurableQueueStore, TypeOrmClientRepository, TypeOrmUserCodeStore, TypeOrmUserRepository, createDataSource, runMigrations } from '@ciba/persistence';
import { CoreModule, ProviderMetrics, busTopology, configuredSectorIdentifierDocuments, createHttpApp, databaseOptions, inProcessBus, loadBootstrap, notificationEndpointPolicy } from '@ciba/platform';
import { AuditApiModule, AuditModule } from '@ciba/service-audit';
import { AuthorizeModule } from '@ciba/service-authorize';
import { CallbackDispatcherModule } from '@ciba/service-callback-dispatcher';
import { NotifierModule } from '@ciba/service-notifier';
import { TokenModule } from '@ciba/service-token';
import { KeyEncryptor, SecretHasher } from '@ciba/tokens';
import { DevDeviceModule } from './dev-device.module.js';
import { DevToolsAccess } from './dev-tools/dev-tools-access.js';
import { type DevInbox, DevInboxModule } from './dev-inbox/index.js';

/**
 * Migrations and seeding belong to a release step in production (the Helm hook Job); the all-in-one
 * start does them itself because it is the whole deployment.
 */
export async function prepareDatabase(config: ProviderConfig): Promise<void> {
  const dataSource = createDataSource({ ...databaseOptions(config), statementTimeoutMs: 0 });
  await dataSource.initialize();
  try {
    await runMigrations(dataSource);
    if (config.bootstrapFile) {
      const data = await readBootstrapFile(config.bootstrapFile);
      await loadBootstrap(data, { clients: new TypeOrmClientRepository(dataSource), users: new TypeOrmUserRepository(dataSource), hasher: new SecretHasher(), signingAlgs: config.keys.signingAlgs, endpoints: notificationEndpointPolicy(config), encryptor: config.keys.encryptionKey ? new KeyEncryptor(config.keys.encryptionKey) : null, userCodes: new TypeOrmUserCodeStore(dataSource), sectorDocuments: configuredSectorIdentifierDocuments(config) });
    }
  } finally {
    await dataSource.destroy();
  }
}

export interface AllInOneOptions {
  /** Mount the development HTTP authentication device at /dev/device. */
  readonly devDevice: boolean;
  /** Mount the page of this development inbox at /dev/inbox; `kinds` are the channel kinds it receives. */
  readonly devInbox?: { readonly inbox: DevInbox; readonly kinds: readonly ChannelKind[] };
  /**
   * Who may use /dev/device and /dev/inbox besides callers on this machine: holders of this key.
   * Without one, a fresh key nobody knows (this machine only).
   */
  readonly devToolsAccess?: DevToolsAccess;
  readonly onShutdown?: () => Promise<void>;
  readonly clock?: Clock;
  readonly channels?: ConfiguredChannels;
  /** Where log lines go instead of stdout. */
  readonly logDestination?: DestinationStream;
}

/**
 * Every service module in one Nest application: the same modules as the distributed services, with
 * the in-process bus (durable work in PostgreSQL) in place of JetStream.
 */
export async function createAllInOneApp(
  config: ProviderConfig,
  options: AllInOneOptions,
): Promise<NestExpressApplication> {
  const wakeup = new InProcessWakeup();
  const devToolsAccess = options.devToolsAccess ?? DevToolsAccess.generate();
  /** Runs after every module has shut down, e.g. to stop the embedded database last. */
  @Injectable()
  class FinalShutdown implements OnApplicationShutdown {
    async onApplicationShutdown(): Promise<void> {
      await options.onShutdown?.();
    }
  }

  @Module({
    imports: [
      CoreModule.forRoot(config, { keys: true, bus: inProcessBus(wakeup, busTopology(config)), clock: options.clock, logDestination: options.logDestination }),
      AuthorizeModule,
      TokenModule,
      NotifierModule.forRoot({ channels: options.channels }),
      AuditModule,
      AuditApiModule,
      CallbackDispatcherModule,
      ...(options.devDevice ? [DevDeviceModule.forRoot(devToolsAccess)] : []),
      ...(options.devInbox ? [DevInboxModule.forRoot(options.devInbox.inbox, options.devInbox.kinds, devToolsAccess)] : []),
    ],
    providers: [FinalShutdown],
  })
  class AllInOneApp {}

  const app = await createHttpApp(AllInOneApp, config);
  app.connectMicroservice(
    {
      strategy: new InProcessServer({
        store: app.get(PostgresDurableQueueStore),
        consumers: ['notifier', 'audit', 'callback-dispatcher', 'notifier-devices'],
        wakeup,
        maxInFlight: config.nats.concurrency,
        topology: busTopology(config),
        observer: app.get(ProviderMetrics).busObserver,
      }),
    },
    { inheritAppConfig: true },
  );
  await app.startAllMicroservices();
  return app;
}
