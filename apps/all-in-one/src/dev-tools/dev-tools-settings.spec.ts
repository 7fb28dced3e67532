import { randomBytes } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '@ciba/config';
import { devToolsSettings, pointsAtOwnDevDevice } from './dev-tools-settings.js';

const settings = (env: Record<string, string>) => {
  const full = { CIBA_DATABASE_URL: 'postgres://u@127.0.0.1/db', CIBA_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'), CIBA_HOST: '127.0.0.1', ...env };
  return devToolsSettings(full, loadConfig(full, 'all-in-one', ['database', 'keys']));
};

describe('devToolsSettings (CIBA_DEV_TOOLS)', () => {
  it('on by default on a loopback address, off by default on any other', () => {
    expect(settings({}).enabled).toBe(true);
    expect(settings({ CIBA_HOST: 'localhost' }).enabled).toBe(true);
    expect(settings({ CIBA_HOST: '0.0.0.0' }).enabled).toBe(false);
    expect(settings({ CIBA_HOST: '192.0.2.2' }).enabled).toBe(false);
  });

  it('follows an explicit value either way, and refuses anything else', () => {
    expect(settings({ CIBA_HOST: '0.0.0.0', CIBA_DEV_TOOLS: 'true' }).enabled).toBe(true);
    expect(settings({ CIBA_DEV_TOOLS: 'false' }).enabled).toBe(false);
    expect(settings({ CIBA_DEV_TOOLS: '0' }).enabled).toBe(false);
    expect(() => settings({ CIBA_DEV_TOOLS: 'yes' })).toThrow(/CIBA_DEV_TOOLS: expected true or false/);
  });

  it('mounts /dev/device only with the tools on and the channel URI pointing at it', () => {
    expect(settings({}).device).toBe(false);
    expect(settings({ CIBA_AUTH_CHANNEL_URI: 'http://127.0.0.1:3000/dev/device' }).device).toBe(true);
    expect(settings({ CIBA_AUTH_CHANNEL_URI: 'http://127.0.0.1:3000/dev/device', CIBA_DEV_TOOLS: 'false' }).device).toBe(false);
    expect(settings({ CIBA_AUTH_CHANNEL_URI: 'https://devices.example.com/ciba' }).device).toBe(false);
  });
});

describe('pointsAtOwnDevDevice', () => {
  it('is this start: a loopback host, its port, the /dev/device path', () => {
    for (const uri of ['http://127.0.0.1:3000/dev/device', 'http://localhost:3000/dev/device/', 'http://[::1]:3000/dev/device']) expect(pointsAtOwnDevDevice(uri, 3000)).toBe(true);
    expect(pointsAtOwnDevDevice('http://127.0.0.1/dev/device', 80)).toBe(true);
  });

  it('is not another host, port, path or scheme', () => {
    for (const uri of ['http://127.0.0.1:3001/dev/device', 'http://192.0.2.2:3000/dev/device', 'http://127.0.0.1:3000/dev/devices', 'https://localhost:3000/dev/device', 'http://127.0.0.1:3000/dev/device?x=1']) {
      expect({ uri, own: pointsAtOwnDevDevice(uri, 3000) }).toEqual({ uri, own: false });
    }
    expect(pointsAtOwnDevDevice(null, 3000)).toBe(false);
  });
});
