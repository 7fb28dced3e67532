import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { type KeyPair, createAccount, createOperator, createUser } from '@nats-io/nkeys';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsPeer, selfSignedCert, temporaryFile } from '@ciba/testing';
import { type NatsAuth, type NatsConnectionOptions, connectNats } from '../src/index.js';

/**
 * Connections fit for a cluster's NATS: each way of authenticating and TLS (server-verified and
 * mutual) against a real nats-server of its own, and the refusals a wrong credential or an untrusted
 * certificate get. Connections that should fail must fail at once: initial connects are not retried.
 */
const peers: NatsPeer[] = [];
const files: Array<{ remove(): void }> = [];
const connections: NatsConnection[] = [];
async function peer(config: string): Promise<NatsPeer> {
  const started = await NatsPeer.start(config);
  peers.push(started);
  return started;
}
function file(name: string, contents: string | Buffer): string {
  const written = temporaryFile(name, contents);
  files.push(written);
  return written.path;
}
/** Connects, and proves the connection works with a round trip to the server. */
async function roundTrip(options: NatsConnectionOptions): Promise<void> {
  const connection = await connectNats(options);
  connections.push(connection);
  await connection.flush();
}
const refusal = async (options: NatsConnectionOptions): Promise<string> => {
  try {
    await roundTrip(options);
  } catch (err) {
    return String((err as Error).message ?? err);
  }
  throw new Error('connected, but a refusal was expected');
};

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
  for (const f of files) f.remove();
});

describe('NATS authentication', () => {
  it('user and password: the right pair connects; a wrong password is refused, and the refusal does not repeat it', async () => {
    const server = await peer('authorization { user: ciba, password: "s3cret-Pa55" }');
    await roundTrip({ servers: server.url, name: 'test', auth: { kind: 'user', user: 'ciba', password: 's3cret-Pa55' } });
    const message = await refusal({ servers: server.url, name: 'test', auth: { kind: 'user', user: 'ciba', password: 'wrong-Pa55' } });
    expect(message).toMatch(/authorization/i);
    expect(message).not.toContain('wrong-Pa55');
    expect(await refusal({ servers: server.url, name: 'test' })).toMatch(/authorization/i);
  });

  it('token: the right token connects; another is refused', async () => {
    const server = await peer('authorization { token: "t0ken-for-ciba-services" }');
    await roundTrip({ servers: server.url, name: 'test', auth: { kind: 'token', token: 't0ken-for-ciba-services' } });
    expect(await refusal({ servers: server.url, name: 'test', auth: { kind: 'token', token: 'not-the-token' } })).toMatch(/authorization/i);
  });

  it('nkey: the seed file of a user the server knows connects (the seed never leaves the client); another seed is refused', async () => {
    const user = createUser();
    const server = await peer(`authorization { users: [ { nkey: ${user.getPublicKey()} } ] }`);
    const auth = (seed: Uint8Array): NatsAuth => ({ kind: 'nkey', seedFile: file('user.nk', Buffer.from(seed)) });
    await roundTrip({ servers: server.url, name: 'test', auth: auth(user.getSeed()) });
    expect(await refusal({ servers: server.url, name: 'test', auth: auth(createUser().getSeed()) })).toMatch(/authorization/i);
  });
});

/**
 * A NATS JWT (v2, `ed25519-nkey`) signed by `issuer`: what `nsc` writes, minted here so that an
 * operator-mode server can be set up offline.
 */
function natsJwt(issuer: KeyPair, subject: KeyPair, nats: Record<string, unknown>): string {
  const part = (value: object | Uint8Array) => Buffer.from(value instanceof Uint8Array ? value : JSON.stringify(value)).toString('base64url');
  const header = part({ typ: 'JWT', alg: 'ed25519-nkey' });
  const claims = part({
    jti: randomBytes(32).toString('hex').toUpperCase(),
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    sub: subject.getPublicKey(),
    name: String(nats['type']),
    nats: { ...nats, version: 2 },
  });
  return `${header}.${claims}.${part(issuer.sign(new TextEncoder().encode(`${header}.${claims}`)))}`;
}

/** A creds file as `nsc generate creds` writes it: the user's JWT and nkey seed. */
function credsFile(account: KeyPair, user: KeyPair): string {
  const userJwt = natsJwt(account, user, { type: 'user', pub: {}, sub: {}, subs: -1, data: -1, payload: -1 });
  const seed = new TextDecoder().decode(user.getSeed());
  return file('user.creds', `-----BEGIN NATS USER JWT-----\n${userJwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`);
}

describe('NATS in operator mode (JWT accounts)', () => {
  it('creds file: a user of an account the server trusts connects; a user of an account it does not know is refused', async () => {
    const operator = createOperator();
    const account = createAccount();
    const limits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
    const server = await peer(
      [
        `operator: "${natsJwt(operator, operator, { type: 'operator' })}"`,
        'resolver: MEMORY',
        `resolver_preload: { ${account.getPublicKey()}: "${natsJwt(operator, account, { type: 'account', limits, default_permissions: { pub: {}, sub: {} } })}" }`,
      ].join('\n'),
    );
    await roundTrip({ servers: server.url, name: 'test', auth: { kind: 'creds', credsFile: credsFile(account, createUser()) } });
    expect(await refusal({ servers: server.url, name: 'test', auth: { kind: 'creds', credsFile: credsFile(createAccount(), createUser()) }, connectTimeoutMs: 2_000 })).toMatch(/authorization violation/i);
  });
});

describe('NATS over TLS', () => {
  let serverIdentity: ReturnType<typeof selfSignedCert>;
  let clientIdentity: ReturnType<typeof selfSignedCert>;
  beforeAll(() => {
    serverIdentity = selfSignedCert();
    clientIdentity = selfSignedCert();
  });
  const serverTls = (extra = '') => `tls {\n  cert_file: "${file('server.pem', serverIdentity.cert)}"\n  key_file: "${file('server.key', serverIdentity.key)}"\n  ${extra}\n}`;

  it('a server whose certificate the configured CA signed connects over TLS; without that CA (the system store) the handshake is refused', async () => {
    const server = await peer(serverTls());
    await roundTrip({ servers: server.url, name: 'test', tls: { caFile: file('ca.pem', serverIdentity.cert) } });
    expect(await refusal({ servers: server.url, name: 'test', tls: {} })).toMatch(/certificate/i);
  });

  it('mutual TLS: with the client certificate the server trusts, it connects; without one it is refused', async () => {
    const server = await peer(serverTls(`ca_file: "${file('clients.pem', clientIdentity.cert)}"\n  verify: true`));
    const caFile = file('ca.pem', serverIdentity.cert);
    await roundTrip({
      servers: server.url,
      name: 'test',
      tls: { caFile, certFile: file('client.pem', clientIdentity.cert), keyFile: file('client.key', clientIdentity.key) },
    });
    // The server closes each handshake; the client gives up when its connect timeout is over.
    await expect(roundTrip({ servers: server.url, name: 'test', tls: { caFile }, connectTimeoutMs: 1_000 })).rejects.toThrow(/timeout/);
    expect(server.log).toMatch(/client didn't provide a certificate/);
  });

  it('TLS and a password together: the password goes only over the encrypted connection', async () => {
    const server = await peer(`${serverTls()}\nauthorization { user: ciba, password: "over-tls-only" }`);
    await roundTrip({ servers: server.url, name: 'test', auth: { kind: 'user', user: 'ciba', password: 'over-tls-only' }, tls: { caFile: file('ca.pem', serverIdentity.cert) } });
  });
});
