import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, type ServiceName, loadConfig } from '@ciba/config';
import { keyRotationOptions } from './key-rotation.scheduler.js';

const base = { CIBA_DATABASE_URL: 'postgres://u@127.0.0.1/db', CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
const DAY_MS = 86_400_000;
const optionsOf = (env: Record<string, string>, service: ServiceName = 'token') => keyRotationOptions(loadConfig({ ...base, ...env }, service, ['keys']), 60_000);

describe('scheduled signing-key rotation settings (OpenID Connect Core §10.1.1)', () => {
  it('CIBA_SIGNING_KEY_ROTATION_DAYS defaults to 90 days', () => {
    expect(optionsOf({}).rotateAfterMs).toBe(90 * DAY_MS);
    expect(optionsOf({ CIBA_SIGNING_KEY_ROTATION_DAYS: '30' }).rotateAfterMs).toBe(30 * DAY_MS);
  });

  it('0 turns scheduled rotation off (manual rotation only)', () => {
    expect(optionsOf({ CIBA_SIGNING_KEY_ROTATION_DAYS: '0' }).rotateAfterMs).toBeNull();
  });

  it('only the processes that sign tokens rotate: token, callback-dispatcher and all-in-one, not authorize, notifier or audit', () => {
    const rotating = (['token', 'callback-dispatcher', 'all-in-one', 'authorize', 'notifier', 'audit', 'admin'] as const).filter((service) => optionsOf({}, service).rotateAfterMs !== null);
    expect(rotating).toEqual(['token', 'callback-dispatcher', 'all-in-one']);
  });

  it('a retired key stays published the longest token lifetime (access or ID token) plus one key refresh period', () => {
    expect(optionsOf({ CIBA_ACCESS_TOKEN_TTL: '900', CIBA_ID_TOKEN_TTL: '300' }).maxTokenLifetimeSeconds).toBe(960);
    expect(optionsOf({ CIBA_ACCESS_TOKEN_TTL: '300', CIBA_ID_TOKEN_TTL: '1200' }).maxTokenLifetimeSeconds).toBe(1260);
  });

  it.each(['-1', '1.5', 'ninety', '3651'])('refuses CIBA_SIGNING_KEY_ROTATION_DAYS=%s at start, naming the variable', (value) => {
    expect(() => optionsOf({ CIBA_SIGNING_KEY_ROTATION_DAYS: value })).toThrow(ConfigError);
    expect(() => optionsOf({ CIBA_SIGNING_KEY_ROTATION_DAYS: value })).toThrow(/CIBA_SIGNING_KEY_ROTATION_DAYS/);
  });
});
