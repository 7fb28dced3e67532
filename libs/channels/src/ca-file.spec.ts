import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { readCaFile } from './ca-file.js';
import { channelsFromEnv } from './registry.js';

const dir = mkdtempSync(join(tmpdir(), 'ca-file-spec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CA files and API base URLs from the environment', () => {
  it('reads the PEM a *_CA_FILE variable names; unset means none', () => {
    const path = join(dir, 'ca.pem');
    writeFileSync(path, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(readCaFile({ CIBA_TWILIO_CA_FILE: path }, 'CIBA_TWILIO_CA_FILE')?.toString()).toContain('BEGIN CERTIFICATE');
    expect(readCaFile({}, 'CIBA_TWILIO_CA_FILE')).toBeUndefined();
  });

  it('names the variable, never the path or content, when the file cannot be read', () => {
    expect(() => readCaFile({ CIBA_FCM_CA_FILE: join(dir, 'missing.pem') }, 'CIBA_FCM_CA_FILE')).toThrow('CIBA_FCM_CA_FILE: cannot read the CA file (ENOENT)');
  });

  it('refuses a non-https Twilio API base URL and an unreadable CA file, naming both variables at boot', () => {
    const twilio = {
      CIBA_SMS_VENDOR: 'twilio',
      CIBA_TWILIO_ACCOUNT_SID: `AC${'1'.repeat(32)}`,
      CIBA_TWILIO_AUTH_TOKEN: 'token',
      CIBA_TWILIO_FROM: '+15005550006',
    };
    expect(() => channelsFromEnv({ ...twilio, CIBA_TWILIO_API_BASE_URL: 'http://gateway.example' })).toThrow(/CIBA_TWILIO_API_BASE_URL/);
    expect(() => channelsFromEnv({ ...twilio, CIBA_TWILIO_CA_FILE: join(dir, 'nope.pem') })).toThrow(/CIBA_TWILIO_CA_FILE/);
    expect(channelsFromEnv({ ...twilio, CIBA_TWILIO_API_BASE_URL: 'https://api.dublin.ie1.twilio.com' }).sms?.vendor).toBe('twilio');
  });
});
