import { connect } from 'node:net';

/**
 * HTTP/1.1 over a bare socket, for requests `fetch` refuses to send: control characters in header
 * values, any bytes in the path and the body. One request per connection.
 */
export interface RawRequest {
  readonly method: string;
  /** Sent as given, bytes and all. */
  readonly path: string | Buffer;
  readonly headers?: ReadonlyArray<readonly [string, string | Buffer]>;
  readonly body?: Buffer;
}

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; the last value of a repeated header. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

const CRLF = Buffer.from('\r\n');

export function rawRequest(origin: string, request: RawRequest, timeoutMs = 15_000): Promise<RawResponse> {
  const { hostname, port } = new URL(origin);
  const body = request.body ?? Buffer.alloc(0);
  const lines: Buffer[] = [Buffer.concat([Buffer.from(`${request.method} `), Buffer.from(request.path), Buffer.from(' HTTP/1.1'), CRLF])];
  const headers: Array<readonly [string, string | Buffer]> = [['host', `${hostname}:${port}`], ['connection', 'close'], ...(request.headers ?? [])];
  if (request.body !== undefined) headers.push(['content-length', String(body.length)]);
  // A CR or LF would end the header early and make another request of the rest: not the one meant.
  for (const [name, value] of headers) lines.push(Buffer.concat([Buffer.from(`${name}: `), Buffer.from(value).filter((b) => b !== 0x0d && b !== 0x0a), CRLF]));
  lines.push(CRLF, body);

  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error: Error | null) => {
      if (settled) return;
      const parsed = error ? null : parseResponse(Buffer.concat(chunks));
      if (!error && parsed === null) return;
      settled = true;
      socket.destroy();
      if (parsed) resolve(parsed);
      else reject(error ?? new Error('incomplete response'));
    };
    socket.setTimeout(timeoutMs, () => finish(new Error(`no complete response within ${timeoutMs} ms to ${request.method} ${String(request.path).slice(0, 80)}`)));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      finish(null);
    });
    socket.on('end', () => finish(parseResponse(Buffer.concat(chunks)) ? null : new Error('connection closed before a complete response')));
    // The server may answer and close before reading the whole request (a 413, a parser error).
    socket.on('error', (err) => finish(parseResponse(Buffer.concat(chunks)) ? null : err));
    socket.write(Buffer.concat(lines));
  });
}

/** The response once complete (Content-Length or chunked), else null. */
function parseResponse(data: Buffer): RawResponse | null {
  const headerEnd = data.indexOf('\r\n\r\n');
  if (headerEnd < 0) return null;
  const [statusLine, ...headerLines] = data.subarray(0, headerEnd).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = data.subarray(headerEnd + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const body = dechunk(rest);
    return body === null ? null : { status, headers, body: body.toString('utf8') };
  }
  const length = Number(headers['content-length'] ?? 0);
  if (rest.length < length) return null;
  return { status, headers, body: rest.subarray(0, length).toString('utf8') };
}

function dechunk(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd < 0) return null;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (Number.isNaN(size)) return null;
    if (size === 0) return Buffer.concat(parts);
    if (data.length < lineEnd + 2 + size + 2) return null;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

/**
 * The bytes of a JavaScript string as a careless client would send them: UTF-8, except that an
 * unpaired surrogate becomes its own three bytes (invalid UTF-8) instead of U+FFFD.
 */
export function looseUtf8(value: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    let code = value.charCodeAt(i);
    const next = value.charCodeAt(i + 1);
    if (code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
      i++;
    }
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
  }
  return Buffer.from(bytes);
}

/** Percent-encodes every byte but the unreserved ones (RFC 3986 §2.3). */
export function percentEncode(bytes: Buffer): string {
  let out = '';
  for (const byte of bytes) out += /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** An application/x-www-form-urlencoded body of loosely encoded strings. */
export function formBody(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  return Buffer.from(fields.map(([name, value]) => `${percentEncode(looseUtf8(name))}=${percentEncode(looseUtf8(value))}`).join('&'));
}
