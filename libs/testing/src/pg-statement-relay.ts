import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';

/** One statement a client sent to PostgreSQL: a simple query, or the Execute of an extended-protocol one. */
export interface RelayedStatement {
  readonly sql: string;
  /** Which client connection sent it (1-based, in accept order). */
  readonly connection: number;
}

/**
 * A TCP relay in front of PostgreSQL that counts the statements passing through it, by reading the
 * frontend half of the wire protocol: a `Query` message is one statement; in the extended protocol
 * (what node-postgres sends for a parameterised query) each `Execute` is one, its text taken from the
 * `Parse` of the statement it binds (unnamed or prepared by name). Point one service's database URL
 * at `url(...)` and its round trips are counted, whatever library sends them. Bytes are passed on
 * unchanged in both directions.
 */
export class PgStatementRelay {
  readonly statements: RelayedStatement[] = [];
  private readonly sockets = new Set<Socket>();
  private connections = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(upstream: { host: string; port: number } = { host: '127.0.0.1', port: 5432 }): Promise<PgStatementRelay> {
    let relay: PgStatementRelay | null = null;
    const server = createServer((client) => relay?.accept(client, upstream));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    relay = new PgStatementRelay(server, (server.address() as AddressInfo).port);
    return relay;
  }

  /** `databaseUrl` with its host and port replaced by the relay's. */
  url(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  /** The statements counted since `mark` (an index into `statements`, from `mark()`). */
  since(mark: number): RelayedStatement[] {
    return this.statements.slice(mark);
  }

  mark(): number {
    return this.statements.length;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, upstream: { host: string; port: number }): void {
    const connection = ++this.connections;
    const server = connect(upstream.port, upstream.host);
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        server.destroy();
      });
    }
    server.on('data', (chunk: Buffer) => client.write(chunk));
    server.on('close', () => client.destroy());
    client.on('close', () => server.destroy());
    const reader = new FrontendReader((sql) => this.statements.push({ sql, connection }));
    client.on('data', (chunk: Buffer) => {
      reader.push(chunk);
      server.write(chunk);
    });
  }
}

/** Splits the frontend byte stream into messages; the first message (startup, SSL or cancel request) has no type byte. */
class FrontendReader {
  private buffer = Buffer.alloc(0);
  private started = false;
  /** Statement name → its SQL, per connection ('' is the unnamed statement). */
  private readonly prepared = new Map<string, string>();
  /** Portal name → the SQL of the statement bound to it. */
  private readonly portals = new Map<string, string>();

  constructor(private readonly onStatement: (sql: string) => void) {}

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.started) {
        if (this.buffer.length < 4) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const code = length >= 8 ? this.buffer.readInt32BE(4) : 0;
        this.buffer = this.buffer.subarray(length);
        // An SSLRequest / GSSENCRequest is followed by the real startup message.
        if (code !== 80877103 && code !== 80877104) this.started = true;
        continue;
      }
      if (this.buffer.length < 5) return;
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < 1 + length) return;
      const type = String.fromCharCode(this.buffer[0]);
      const body = this.buffer.subarray(5, 1 + length);
      this.buffer = this.buffer.subarray(1 + length);
      this.read(type, body);
    }
  }

  private read(type: string, body: Buffer): void {
    switch (type) {
      case 'Q':
        this.onStatement(cString(body, 0).value);
        return;
      case 'P': {
        const name = cString(body, 0);
        this.prepared.set(name.value, cString(body, name.next).value);
        return;
      }
      case 'B': {
        const portal = cString(body, 0);
        const statement = cString(body, portal.next);
        this.portals.set(portal.value, this.prepared.get(statement.value) ?? `<prepared ${statement.value}>`);
        return;
      }
      case 'E':
        this.onStatement(this.portals.get(cString(body, 0).value) ?? '<unknown portal>');
        return;
      default:
        return;
    }
  }
}

function cString(buffer: Buffer, start: number): { value: string; next: number } {
  const end = buffer.indexOf(0, start);
  return { value: buffer.toString('utf8', start, end), next: end + 1 };
}
