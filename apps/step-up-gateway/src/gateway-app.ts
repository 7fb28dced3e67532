import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger, LoggerModule } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { Counter } from 'prom-client';
import { DataSource } from 'typeorm';
import { PersistenceModule, TypeOrmStepUpApprovalRepository } from '@ciba/persistence';
import { HealthController, ProviderMetrics, ReadinessRegistry, httpMetricsMiddleware, metricsHandler, pinoParams } from '@ciba/platform';
import { KeyEncryptor } from '@ciba/tokens';
import { ApprovalPoller } from './approval-poller.js';
import { AuditReporter } from './audit-reporter.js';
import { CibaProviders } from './ciba-providers.js';
import type { GatewayConfig } from './gateway-config.js';
import { approvalStatusHandler, forwardAuthHandler, reverseProxyHandler } from './gateway-http.js';
import type { Policy } from './policy/policy.js';
import { StepUpGateway } from './step-up.js';
import { SubjectTokenVerifier } from './subject-token.js';

const POLICY = Symbol('STEP_UP_POLICY');
const CONFIG = Symbol('STEP_UP_GATEWAY_CONFIG');
const AUDIT = Symbol('STEP_UP_AUDIT_REPORTER');

export interface GatewayAppOptions {
  /** Where log lines go instead of stdout (a test that reads the logs). */
  readonly logDestination?: DestinationStream;
}

/** Starts the background poller and drains the audit reports with the application's lifecycle. */
@Injectable()
class GatewayLifecycle implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly poller: ApprovalPoller,
    @Inject(AUDIT) private readonly audit: AuditReporter | null,
    private readonly readiness: ReadinessRegistry,
    @Inject(DataSource) private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.readiness.register('database', async () => {
      await this.dataSource.query('SELECT 1');
    });
  }

  onApplicationBootstrap(): void {
    this.poller.onApplicationBootstrap();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.poller.onApplicationShutdown();
    await this.audit?.onApplicationShutdown();
  }
}

/**
 * The step-up gateway as a Nest application: the reverse proxy, the forward-auth endpoint and the
 * approval status endpoint are Express handlers in front of Nest's own routes (`/healthz`,
 * `/readyz`), with pino logs and `/metrics`. No body parser: proxied bodies stream through.
 */
export async function createGatewayApp(config: GatewayConfig, policy: Policy, options: GatewayAppOptions = {}): Promise<NestExpressApplication> {
  @Module({
    imports: [
      LoggerModule.forRoot(pinoParams('step-up-gateway', config.logLevel, options.logDestination)),
      PersistenceModule.forRoot({ url: config.databaseUrl, poolSize: config.poolSize, applicationName: 'ciba-step-up-gateway' }),
    ],
    controllers: [HealthController],
    providers: [
      ReadinessRegistry,
      ProviderMetrics,
      { provide: POLICY, useValue: policy },
      { provide: CONFIG, useValue: config },
      { provide: KeyEncryptor, useFactory: () => new KeyEncryptor(config.encryptionKey) },
      { provide: TypeOrmStepUpApprovalRepository, inject: [DataSource], useFactory: (dataSource: DataSource) => new TypeOrmStepUpApprovalRepository(dataSource) },
      { provide: SubjectTokenVerifier, useFactory: () => new SubjectTokenVerifier(policy.subjectTokens) },
      { provide: CibaProviders, useFactory: () => new CibaProviders(policy, config.allowHttpProvider) },
      { provide: AUDIT, useFactory: () => AuditReporter.fromPolicy(policy) },
      {
        provide: StepUpGateway,
        inject: [SubjectTokenVerifier, TypeOrmStepUpApprovalRepository, CibaProviders, KeyEncryptor, AUDIT, ProviderMetrics],
        useFactory: (verifier: SubjectTokenVerifier, approvals: TypeOrmStepUpApprovalRepository, providers: CibaProviders, sealer: KeyEncryptor, audit: AuditReporter | null, metrics: ProviderMetrics) => {
          const decisions = new Counter({
            name: 'ciba_step_up_decisions_total',
            help: 'Step-up gateway decisions, by policy route and decision (pass, allow, challenge, denied, invalid_token, error).',
            labelNames: ['route', 'decision'] as const,
            registers: [metrics.registry],
          });
          return new StepUpGateway(policy, verifier, approvals, providers, sealer, audit, (route, decision) => decisions.inc({ route, decision }));
        },
      },
      {
        provide: ApprovalPoller,
        inject: [TypeOrmStepUpApprovalRepository, CibaProviders, KeyEncryptor],
        useFactory: (approvals: TypeOrmStepUpApprovalRepository, providers: CibaProviders, sealer: KeyEncryptor) => new ApprovalPoller(policy, approvals, providers, sealer, config.pollTickMs),
      },
      GatewayLifecycle,
    ],
  })
  class StepUpGatewayApp {}

  const app = await NestFactory.create<NestExpressApplication>(StepUpGatewayApp, { bufferLogs: true, bodyParser: false, abortOnError: false });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.set('etag', false);
  const metrics = app.get(ProviderMetrics);
  const gateway = app.get(StepUpGateway);
  app.use(httpMetricsMiddleware(metrics));
  app.use(metricsHandler(metrics));
  app.use(forwardAuthHandler(gateway, policy));
  app.use(approvalStatusHandler(app.get(TypeOrmStepUpApprovalRepository)));
  app.use(reverseProxyHandler(gateway, policy));
  return app;
}
