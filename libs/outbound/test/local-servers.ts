import { createServer as createHttpServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { selfSignedCert } from '@ciba/testing';

export interface TestCertificate {
  readonly key: string;
  /** Self-signed: also the CA that trusts it. */
  readonly cert: string;
}

/** A throwaway self-signed certificate for 127.0.0.1, localhost and callback.invalid. */
export function generateCertificate(): TestCertificate {
  // callback.invalid (RFC 6761: never resolves) proves the connection used the pinned address.
  const { key, cert } = selfSignedCert({ dnsNames: ['callback.invalid'] });
  return { key: key.toString('utf8'), cert: cert.toString('utf8') };
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** TLS SNI the client sent, if any. */
  readonly servername: string | null;
}

export type Respond = (request: RecordedRequest, response: ServerResponse, index: number) => void;

export interface LocalServer {
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  connections: number;
  url(path: string, host?: string): string;
  openConnections(): Promise<number>;
  close(): Promise<void>;
}

/** A real HTTP(S) server on 127.0.0.1 that records every request and answers with `respond`. */
export async function startServer(respond: Respond, tls?: TestCertificate): Promise<LocalServer> {
  const requests: RecordedRequest[] = [];
  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const recorded: RecordedRequest = {
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        servername: (request.socket as Partial<TLSSocket>).servername || null,
      };
      requests.push(recorded);
      respond(recorded, response, requests.length - 1);
    });
  };
  const server: Server = tls === undefined ? createHttpServer(handler) : createHttpsServer({ key: tls.key, cert: tls.cert }, handler);
  const state = { connections: 0 };
  server.on('connection', (_socket: Socket) => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const scheme = tls === undefined ? 'http' : 'https';
  return {
    port,
    requests,
    get connections() {
      return state.connections;
    },
    url: (path, host = '127.0.0.1') => `${scheme}://${host}:${port}${path}`,
    openConnections: () => new Promise((resolve, reject) => server.getConnections((error, count) => (error ? reject(error) : resolve(count)))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
export async function unusedPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `condition` until it holds; tests wait this way, never by sleeping a fixed time. */
export async function waitFor(condition: () => boolean | Promise<boolean>, { timeoutMs = 5_000, intervalMs = 10 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
