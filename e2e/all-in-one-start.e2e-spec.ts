import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type TestDatabase, createTestDatabase, freePort, waitFor } from '@ciba/testing';
import { ManagedProcess } from './service-processes.js';

/** The all-in-one start (`npm start` runs it) from its built entry point, as its own process, on a test database. */
class AllInOneProcess extends ManagedProcess {
  private db: TestDatabase | null = null;
  port = 0;

  constructor(private readonly env: (port: number) => Record<string, string>) {
    super();
  }

  get loopbackUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The start's dev-tools key, as its banner prints it. */
  get key(): string {
    const key = /\/dev\/inbox\?key=([A-Za-z0-9_-]{43})/.exec(this.output)?.[1];
    if (!key) throw new Error(`no dev-tools key in the start banner:\n${this.output}`);
    return key;
  }

  async start(): Promise<void> {
    this.db = await createTestDatabase();
    this.port = await freePort();
    const env = {
      CIBA_DATABASE_URL: this.db.url,
      CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      CIBA_PORT: String(this.port),
      CIBA_LOG_LEVEL: 'warn',
      ...this.env(this.port),
    };
    const ready = async () => this.output.includes('listening on') && (await fetch(`${this.loopbackUrl}/readyz`).catch(() => null))?.status === 200;
    await this.spawnUntilReady('all-in-one', env, 'the all-in-one start', ready, 60_000);
  }

  override async stop(): Promise<number | null> {
    const code = await super.stop('SIGTERM');
    await this.db?.drop();
    return code;
  }
}

/** An IPv4 address of this machine other than loopback: requests to it come from a non-loopback peer. */
function nonLoopbackAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  if (!address) throw new Error('this machine has no non-loopback IPv4 address to test from');
  return address;
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Answer {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: string;
}

async function answer(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, { redirect: 'manual', ...init });
  return { status: res.status, contentType: res.headers.get('content-type'), body: await res.text() };
}

const TOOL_REQUESTS: readonly (readonly [method: string, path: string])[] = [
  ['GET', '/dev/inbox'],
  ['GET', '/dev/inbox/messages'],
  ['GET', '/dev/device/notifications'],
  ['POST', '/dev/device'],
];

describe('the all-in-one start (npm start)', () => {
  describe('defaults', () => {
    const start = new AllInOneProcess(() => ({}));
    beforeAll(() => start.start(), 90_000);
    afterAll(() => start.stop());

    it('the all-in-one binds 127.0.0.1 by default', async () => {
      expect(await accepts(nonLoopbackAddress(), start.port)).toBe(false);
      expect(await accepts('127.0.0.1', start.port)).toBe(true);
      expect(start.output).toContain(`listening on 127.0.0.1:${start.port}`);
      // The README quick start still works on this machine: the inbox answers.
      expect((await answer(`${start.loopbackUrl}/dev/inbox/messages`)).status).toBe(200);
    });

    it('/dev/device is not mounted unless the channel URI points at it', async () => {
      for (const [method, path] of [['GET', '/dev/device/notifications'], ['POST', '/dev/device']] as const) {
        const res = await answer(`${start.loopbackUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
        expect({ path, status: res.status }).toEqual({ path, status: 404 });
      }
    });
  });

  describe('bound to every interface with the dev tools on and the channel pointed at /dev/device', () => {
    const start = new AllInOneProcess((port) => ({ CIBA_HOST: '0.0.0.0', CIBA_DEV_TOOLS: 'true', CIBA_AUTH_CHANNEL_URI: `http://127.0.0.1:${port}/dev/device` }));
    let remote: string;
    beforeAll(async () => {
      await start.start();
      remote = `http://${nonLoopbackAddress()}:${start.port}`;
    }, 90_000);
    afterAll(() => start.stop());

    const request = (base: string, method: string, path: string, headers: Record<string, string> = {}) =>
      answer(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: method === 'POST' ? '{}' : undefined });
    /** What the start answers where nothing is mounted: the tools must look exactly like that. */
    const notMounted = async (base: string, method: string, path: string) => {
      const other = await request(base, method, path.replace('/dev/', '/dev-nothing/'));
      return { ...other, body: other.body.replace('/dev-nothing/', '/dev/') };
    };

    it('dev tools: /dev/inbox and /dev/device answer 404 to a non-loopback peer without the start secret', async () => {
      // The provider itself answers that peer.
      expect((await answer(`${remote}/.well-known/openid-configuration`)).status).toBe(200);
      for (const [method, path] of TOOL_REQUESTS) {
        const refused = await request(remote, method, path);
        expect({ method, path, ...refused }).toEqual({ method, path, ...(await notMounted(remote, method, path)) });
        expect(refused.status).toBe(404);
        // A wrong key changes nothing.
        expect((await request(remote, method, path, { 'x-dev-tools-key': 'A'.repeat(43) })).status).toBe(404);
        expect((await request(remote, method, `${path}?key=${'A'.repeat(43)}`)).status).toBe(404);
        // A reverse proxy on this machine connects from loopback: a forwarded request is not a local one.
        const proxied: Record<string, string>[] = [{ 'x-forwarded-for': '203.0.113.9' }, { forwarded: 'for=203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }];
        for (const forwarded of proxied) {
          expect({ path, forwarded, status: (await request(start.loopbackUrl, method, path, forwarded)).status }).toEqual({ path, forwarded, status: 404 });
        }
      }
      // Spellings the router also serves (it is case-insensitive and ignores a trailing slash) are guarded too.
      for (const path of ['/DEV/INBOX/MESSAGES', '/dev/inbox/messages/', '/Dev/Device/Notifications']) {
        expect({ path, status: (await request(start.loopbackUrl, 'GET', path)).status }).toEqual({ path, status: 200 });
        expect({ path, status: (await request(remote, 'GET', path)).status }).toEqual({ path, status: 404 });
      }
      expect((await fetch(`${remote}/dev/inbox/messages`, { method: 'HEAD' })).status).toBe(404);
    });

    it('dev tools: /dev/inbox and /dev/device answer with the start secret', async () => {
      const key = start.key;
      for (const [method, path] of TOOL_REQUESTS) {
        const expected = method === 'POST' ? 204 : 200;
        expect({ path, status: (await request(remote, method, path, { 'x-dev-tools-key': key })).status }).toEqual({ path, status: expected });
        expect({ path, status: (await request(start.loopbackUrl, method, path, { 'x-forwarded-for': '203.0.113.9', 'x-dev-tools-key': key })).status }).toEqual({ path, status: expected });
        // This machine needs no key.
        expect({ path, status: (await request(start.loopbackUrl, method, path)).status }).toEqual({ path, status: expected });
      }
      // A browser opens the banner's URL: the key becomes an HttpOnly, SameSite=Strict cookie and leaves the address bar.
      const opened = await fetch(`${remote}/dev/inbox?key=${key}`, { redirect: 'manual' });
      expect(opened.status).toBe(303);
      expect(opened.headers.get('location')).toBe('/dev/inbox');
      const cookie = opened.headers.get('set-cookie') ?? '';
      expect(cookie).toBe(`ciba_dev_tools=${key}; HttpOnly; SameSite=Strict; Path=/dev`);
      const withCookie = await answer(`${remote}/dev/inbox/messages`, { headers: { cookie: cookie.split(';')[0] } });
      expect(withCookie.status).toBe(200);
    });

    it('/dev/device receives the channel notifications of this start (the notifier posts from loopback)', async () => {
      const message = `W4SCT ${randomBytes(2).toString('hex')}`;
      const authorized = await fetch(`${start.loopbackUrl}/bc-authorize`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from('demo-client:demo-client-secret-change-me').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ scope: 'openid', login_hint: 'alice', binding_message: message }),
      });
      expect(authorized.status).toBe(200);
      await waitFor(async () => (await answer(`${start.loopbackUrl}/dev/device/notifications`)).body.includes(message), { description: 'the notification at /dev/device' });
    });
  });

  describe('bound to every interface, dev tools left to their default', () => {
    const start = new AllInOneProcess((port) => ({ CIBA_HOST: '0.0.0.0', CIBA_AUTH_CHANNEL_URI: `http://127.0.0.1:${port}/dev/device` }));
    beforeAll(() => start.start(), 90_000);
    afterAll(() => start.stop());

    it('turns the dev tools off: nothing answers at /dev, even on this machine, and the banner says so', async () => {
      expect(start.output).toContain('dev tools:     off (listening on 0.0.0.0; CIBA_DEV_TOOLS=true turns on /dev/inbox and /dev/device)');
      expect(start.output).not.toMatch(/\?key=/);
      for (const [method, path] of TOOL_REQUESTS) {
        expect({ path, status: (await answer(`${start.loopbackUrl}${path}`, { method })).status }).toEqual({ path, status: 404 });
      }
    });
  });
});
