import type { Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import type { ClientChangeFeed } from '@ciba/domain';
import pg from 'pg';
import type { DataSource } from 'typeorm';

/** The channel the `clients_changed` trigger notifies (migration 1700002900000). */
export const CLIENT_CHANGES_CHANNEL = 'ciba_clients_changed';

const FIRST_RETRY_MS = 500;
const LAST_RETRY_MS = 30_000;

/**
 * Client changes from PostgreSQL: one connection of its own per process (outside the pool, with the
 * pool's URL, so the same TLS settings) that LISTENs on `ciba_clients_changed`. Listeners hear each
 * changed client id once its transaction commits.
 *
 * A change made while the connection is down is not heard, so listeners are told null ("forget
 * everything") whenever the connection is (re)established and when it drops; it reconnects with
 * backoff. The connection opens with the first listener, and `close()` ends it.
 */
export class PostgresClientChangeFeed implements ClientChangeFeed {
  private readonly logger = new Logger(PostgresClientChangeFeed.name);
  private readonly listeners = new Set<(clientId: string | null) => void>();
  private client: pg.Client | null = null;
  private started = false;
  private closed = false;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | null = null;
  private connecting: Promise<void> | null = null;

  private readonly connection: pg.ClientConfig;

  constructor(dataSource: DataSource) {
    const options = dataSource.options;
    if (options.type !== 'postgres') throw new Error('the client change feed needs PostgreSQL');
    this.connection = {
      connectionString: options.url,
      ...(options.connectTimeoutMS !== undefined ? { connectionTimeoutMillis: options.connectTimeoutMS } : {}),
      application_name: `${options.applicationName ?? 'ciba'}-client-changes`,
    };
  }

  subscribe(listener: (clientId: string | null) => void): () => void {
    this.listeners.add(listener);
    if (!this.started) {
      this.started = true;
      this.connect();
    }
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the feed listens (for tests and start-up ordering); never rejects. */
  async listening(): Promise<void> {
    while (this.started && !this.closed && this.client === null) {
      await (this.connecting ?? new Promise((resolve) => setTimeout(resolve, 20)));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.connecting;
    const client = this.client;
    this.client = null;
    if (client) await client.end().catch(() => undefined);
  }

  private connect(): void {
    if (this.closed) return;
    this.connecting = this.open().finally(() => {
      this.connecting = null;
    });
  }

  private async open(): Promise<void> {
    const client = new pg.Client(this.connection);
    // An error event on an idle client is the connection going away: without a handler it would crash the process.
    client.on('error', (error) => this.dropped(client, error));
    client.on('end', () => this.dropped(client, null));
    client.on('notification', (message) => {
      if (message.channel === CLIENT_CHANGES_CHANNEL && message.payload) this.tell(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CLIENT_CHANGES_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.logger.warn({ err: error, retryInMs: this.retryMs }, 'cannot listen for client changes; clients are cached for their TTL until it can');
      this.retryLater();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    // A passive listener never keeps a process alive by itself: the process's servers and pool do.
    (client.connection.stream as Partial<Pick<Socket, 'unref'>>).unref?.();
    this.client = client;
    this.retryMs = FIRST_RETRY_MS;
    // Changes committed before LISTEN took effect were not heard.
    this.tell(null);
  }

  private dropped(client: pg.Client, error: Error | null): void {
    if (this.client !== client) return;
    this.client = null;
    client.removeAllListeners('end');
    void client.end().catch(() => undefined);
    if (this.closed) return;
    // PostgreSQL stopping or restarting (it ends every session with 57P01) is expected; anything else is worth a warning.
    const code = (error as { code?: unknown } | null)?.code;
    if (code === '57P01') this.logger.log('PostgreSQL ended the client change feed\'s session (shut down or restarted); reconnecting');
    else this.logger.warn({ err: error ?? undefined }, 'the client change feed lost its connection; reconnecting');
    this.tell(null);
    this.retryLater();
  }

  private retryLater(): void {
    if (this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, LAST_RETRY_MS);
  }

  private tell(clientId: string | null): void {
    for (const listener of this.listeners) listener(clientId);
  }
}
