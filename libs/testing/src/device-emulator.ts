import { randomInt } from 'node:crypto';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from './wait-for.js';

export interface ReceivedNotification {
  readonly decisionToken: string | null;
  readonly body: Record<string, unknown>;
  readonly headers: IncomingMessage['headers'];
}

/**
 * An authentication-device service speaking the HTTP authentication channel, on a real loopback
 * HTTP server. `failNext(n, status)` makes the next n notifications fail, for retry tests;
 * `hold()` keeps every answer waiting (a slow device), for tests of what is in flight.
 */
export class DeviceEmulator {
  readonly received: ReceivedNotification[] = [];
  attempts = 0;
  /** Notifications that reached the device, answered or still held. */
  arrived = 0;
  private failures: number[] = [];
  private gate: Promise<void> | null = null;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<DeviceEmulator> {
    const state: { emulator?: DeviceEmulator } = {};
    const server = createServer((req, res) => {
      const emulator = state.emulator;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        emulator!.arrived++;
        void (emulator!.gate ?? Promise.resolve()).then(() => answer());
      });
      const answer = () => {
        emulator!.attempts++;
        const failStatus = emulator!.failures.shift();
        if (failStatus !== undefined) {
          res.writeHead(failStatus).end();
          return;
        }
        const auth = req.headers.authorization;
        emulator!.received.push({
          decisionToken: auth?.startsWith('Bearer ') ? auth.slice(7) : null,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
          headers: req.headers,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      };
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    state.emulator = new DeviceEmulator(server, `http://127.0.0.1:${port}/ciba/notify`);
    return state.emulator;
  }

  /** Holds every answer until the returned function is called; notifications still arrive (`arrived`). */
  hold(): () => void {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    this.gate = gate;
    return () => {
      if (this.gate === gate) this.gate = null;
      release();
    };
  }

  failNext(times: number, status = 503): void {
    this.failures.push(...Array.from({ length: times }, () => status));
  }

  /** The notification for a user (its `login_hint` is the user's sub) matching `predicate`. */
  async notificationFor(predicate: (n: ReceivedNotification) => boolean, timeoutMs = 10_000): Promise<ReceivedNotification> {
    let found: ReceivedNotification | undefined;
    await waitFor(
      () => {
        found = this.received.find(predicate);
        return found !== undefined;
      },
      { timeoutMs },
    );
    return found!;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Below every usual ephemeral range (Linux 32768–60999, BSD and Windows 49152–65535). */
const CHOSEN_PORTS = { from: 15_000, to: 32_000 } as const;

/**
 * A port free at the time of asking (for services whose public URL must be known before they
 * listen), chosen at random below the ephemeral range: the kernel never hands such a port to a
 * `listen(0)` or an outgoing connection, so nothing else running takes it before the service binds it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = CHOSEN_PORTS.from + randomInt(CHOSEN_PORTS.to - CHOSEN_PORTS.from);
    const server = createServer();
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) continue;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }
}
