import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait-for.js';

export interface ReceivedCallback {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
  readonly status: number;
}

export interface ScriptedResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  /** Never answer (until the receiver closes): a request in flight when its sender dies. */
  readonly hang?: boolean;
  /** Answer only once this settles: an endpoint slower than the sender's bus is patient. */
  readonly answerAfter?: Promise<unknown>;
}

/**
 * A client's backchannel notification endpoint on a real loopback HTTP server. Every request is
 * recorded with the status it was answered with; `respond(...)` scripts the next answers (default 204).
 */
export class ClientReceiver {
  readonly received: ReceivedCallback[] = [];
  private readonly script: ScriptedResponse[] = [];

  private constructor(
    private readonly server: Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<ClientReceiver> {
    const state: { receiver?: ClientReceiver } = {};
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const receiver = state.receiver!;
        const next = receiver.script.shift() ?? { status: 204 };
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        } catch {
          body = { unparseable: true };
        }
        receiver.received.push({ path: req.url ?? '', headers: req.headers, body, status: next.hang ? 0 : next.status });
        const answer = () => {
          if (!res.destroyed) res.writeHead(next.status, next.headers).end();
        };
        if (next.hang) return;
        if (next.answerAfter) void next.answerAfter.then(answer, answer);
        else answer();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    state.receiver = new ClientReceiver(server, `http://127.0.0.1:${port}`);
    return state.receiver;
  }

  /** The next requests are answered with these, in order. */
  respond(...responses: ScriptedResponse[]): void {
    this.script.push(...responses);
  }

  /** Callbacks whose body names `authReqId`. */
  for(authReqId: string): ReceivedCallback[] {
    return this.received.filter((r) => r.body['auth_req_id'] === authReqId);
  }

  async waitFor(authReqId: string, count = 1, timeoutMs = 10_000): Promise<ReceivedCallback[]> {
    await waitFor(() => this.for(authReqId).length >= count, { timeoutMs, description: `${count} callback(s) for a request` });
    return this.for(authReqId);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
