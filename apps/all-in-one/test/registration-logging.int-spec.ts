import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { startTestProvider } from './provider-harness.js';

const INITIAL_ACCESS_TOKEN = randomBytes(32).toString('base64url');
const SECOND_INITIAL_ACCESS_TOKEN = randomBytes(32).toString('base64url');

async function call(url: string, init: { method?: string; token?: string; json?: unknown } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers['authorization'] = `Bearer ${init.token}`;
  const res = await fetch(url, { method: init.method ?? 'POST', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** In a file of its own: the provider's log destination is set by the first application a test process starts. */
describe('dynamic client registration in the logs', () => {
  it('RFC 7591 §3 / RFC 7592 §2 logs the registration, update and deletion, never a token or secret', async () => {
    const lines: string[] = [];
    const op = await startTestProvider({ CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN: `${INITIAL_ACCESS_TOKEN} ${SECOND_INITIAL_ACCESS_TOKEN}`, CIBA_LOG_LEVEL: 'debug' }, { logDestination: { write: (line: string) => void lines.push(line) } });
    try {
      const info = (await call(`${op.url}/register`, { token: INITIAL_ACCESS_TOKEN, json: { client_name: 'Logged', client_secret: 'a-secret-the-client-chose-itself' } })).body;
      const uri = String(info['registration_client_uri']);
      const token = String(info['registration_access_token']);
      await call(uri, { method: 'PUT', token, json: { client_id: info['client_id'], client_secret: info['client_secret'], client_name: 'Logged v2', registration_access_token: token } });
      await call(uri, { method: 'GET', token: SECOND_INITIAL_ACCESS_TOKEN });
      await call(`${op.url}/register`, { token: SECOND_INITIAL_ACCESS_TOKEN, json: {} });
      expect((await call(uri, { method: 'DELETE', token })).status).toBe(204);
      const logged = lines.join('');
      expect(logged).toContain('client registered');
      expect(logged).toContain('client registration deleted');
      for (const secret of [INITIAL_ACCESS_TOKEN, SECOND_INITIAL_ACCESS_TOKEN, token, String(info['client_secret']), 'a-secret-the-client-chose-itself']) expect(logged).not.toContain(secret);
    } finally {
      await op.close();
    }
  }, 30_000);
});
