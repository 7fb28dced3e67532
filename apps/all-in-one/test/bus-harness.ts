import { randomUUID } from 'node:crypto';
import { type DynamicModule, Global, type INestMicroservice, type LoggerService, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { AuthRequestCreated, Clock } from '@ciba/domain';
import { type BusTopology, InProcessEventPublisher, InProcessServer, InProcessWakeup } from '@ciba/messaging';
import { PostgresDurableQueueStore, TypeOrmAuditRepository, TypeOrmEvidenceRecordRepository } from '@ciba/persistence';
import { AUDIT_REPOSITORY, EVIDENCE_RECORD_REPOSITORY } from '@ciba/platform';
import { type TestDatabase, createTestDatabase, waitFor } from '@ciba/testing';

/**
 * The in-process bus over the real PostgreSQL work table, without the rest of the provider: a
 * scratch database whose pg pool counts the statements it runs, and "processes" (a server and the
 * publisher beside it) started on it with the handlers of a test module.
 */
export interface BusTestBed {
  readonly db: TestDatabase;
  readonly store: PostgresDurableQueueStore;
  /** Every statement the pool ran since the last `statements.length = 0`, whitespace collapsed. */
  readonly statements: string[];
  count(prefix: string): number;
  /** Resolves once no statement is running. */
  idle(): Promise<void>;
  start(options: ProcessOptions): Promise<BusProcess>;
  close(): Promise<void>;
}

export interface ProcessOptions {
  readonly consumers: readonly string[];
  readonly module: Type | DynamicModule;
  readonly topology: BusTopology;
  readonly maxInFlight?: number;
  readonly pollIntervalMs?: number;
  readonly clock?: Clock;
}

export interface BusProcess {
  readonly app: INestMicroservice;
  readonly publisher: InProcessEventPublisher;
  close(): Promise<void>;
}

const silent: LoggerService = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };

export async function busTestBed(): Promise<BusTestBed> {
  const db = await createTestDatabase();
  const statements: string[] = [];
  const pool = (db.dataSource.driver as unknown as { master: { query: (...args: unknown[]) => unknown } }).master;
  const query = pool.query.bind(pool);
  let running = 0;
  pool.query = (...args: unknown[]) => {
    // A plain text, or a prepared statement's config ({ name, text, values }).
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: unknown } | null)?.text;
    if (typeof text === 'string') statements.push(text.replace(/\s+/g, ' ').trim());
    running++;
    const result = query(...args) as Promise<unknown>;
    void result.finally(() => running--).catch(() => undefined);
    return result;
  };
  const store = new PostgresDurableQueueStore(db.dataSource);
  const processes: BusProcess[] = [];
  return {
    db,
    store,
    statements,
    count: (prefix) => statements.filter((statement) => statement.startsWith(prefix)).length,
    idle: () => waitFor(() => running === 0, { description: 'the statements to finish' }),
    async start(options) {
      const wakeup = new InProcessWakeup();
      const server = new InProcessServer({
        store,
        consumers: options.consumers,
        topology: options.topology,
        wakeup,
        logger: silent,
        maxInFlight: options.maxInFlight ?? 8,
        pollIntervalMs: options.pollIntervalMs ?? 60_000,
        clock: options.clock,
        retry: { jitterRatio: 0 },
      });
      const app = await NestFactory.createMicroservice(options.module, { strategy: server, logger: false });
      await app.listen();
      const process: BusProcess = {
        app,
        publisher: new InProcessEventPublisher({ store, topology: options.topology, wakeup }),
        close: async () => {
          processes.splice(processes.indexOf(process), 1);
          await app.close();
        },
      };
      processes.push(process);
      return process;
    },
    async close() {
      await Promise.all([...processes].map((process) => process.close()));
      await db.drop();
    },
  };
}

/** The audit trail in the scratch database (`AuditModule` needs the repository from the core module). */
export function auditStorage(db: TestDatabase): DynamicModule {
  @Global()
  @Module({})
  class AuditStorage {}
  return {
    module: AuditStorage,
    providers: [
      { provide: AUDIT_REPOSITORY, useValue: new TypeOrmAuditRepository(db.dataSource) },
      { provide: EVIDENCE_RECORD_REPOSITORY, useValue: new TypeOrmEvidenceRecordRepository(db.dataSource) },
    ],
    exports: [AUDIT_REPOSITORY, EVIDENCE_RECORD_REPOSITORY],
  };
}

export function createdEvent(): AuthRequestCreated {
  const requestId = randomUUID();
  return {
    type: 'auth_request.created',
    version: 1,
    eventId: `${requestId}:auth_request.created`,
    requestId,
    clientId: 'client-a',
    subject: 'user-1',
    occurredAt: new Date().toISOString(),
    correlationId: `corr-${requestId}`,
    deliveryMode: 'poll',
    scope: ['openid'],
    hintType: 'login_hint',
    expiresAt: new Date(Date.now() + 120_000).toISOString(),
    interval: 5,
    hasBindingMessage: false,
  };
}
