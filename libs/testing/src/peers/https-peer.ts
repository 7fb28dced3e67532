import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A key and its certificate (PEM). */
export interface TlsIdentity {
  readonly key: Buffer;
  readonly cert: Buffer;
}

/** A throwaway self-signed P-256 certificate for 127.0.0.1, localhost and `dnsNames`, valid for a day. */
export function selfSignedCert({ dnsNames = [] }: { readonly dnsNames?: readonly string[] } = {}): TlsIdentity {
  const dir = mkdtempSync(join(tmpdir(), 'ciba-peer-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
        '-subj', '/CN=localhost', '-addext', `subjectAltName=${['IP:127.0.0.1', ...['localhost', ...dnsNames].map((name) => `DNS:${name}`)].join(',')}`,
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A file holding `contents` in a fresh temporary folder, for settings that take a path (a CA file,
 * a service-account key file); `remove()` deletes the folder.
 */
export function temporaryFile(name: string, contents: string | Buffer): { readonly path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'ciba-peer-'));
  const path = join(dir, name);
  writeFileSync(path, contents, { mode: 0o600 });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RecordedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

export type Responder = (req: RecordedRequest, res: ServerResponse) => void;

export interface HttpsPeer {
  /** `https://127.0.0.1:<port>`. */
  readonly origin: string;
  readonly server: Server;
  /** Every request, in arrival order. */
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** An HTTPS peer on 127.0.0.1:0 that records every request and answers with `responder`. */
export async function startHttpsPeer(tls: TlsIdentity, responder: Responder): Promise<HttpsPeer> {
  const requests: RecordedRequest[] = [];
  const server = createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(recorded);
      responder(recorded, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `https://127.0.0.1:${port}`,
    server,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

/** Answers with a JSON body. */
export function replyJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}
