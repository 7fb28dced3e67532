import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { smtpEmailConfigSchema, smtpEmailOptionsFromEnv } from './smtp-email.config.js';

const base = { CIBA_SMTP_HOST: 'smtp.example.com', CIBA_SMTP_FROM: '"Example ID" <no-reply@example.com>' };
const dir = mkdtempSync(join(tmpdir(), 'smtp-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('smtpEmailOptionsFromEnv', () => {
  it('defaults to STARTTLS required on 587', () => {
    expect(smtpEmailOptionsFromEnv(base)).toEqual({ host: 'smtp.example.com', port: 587, secure: false, requireTls: true, from: base.CIBA_SMTP_FROM });
  });

  it('defaults to 465 with implicit TLS, and reads credentials and the CA file', () => {
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, 'PEM');
    const options = smtpEmailOptionsFromEnv(
      { ...base, CIBA_SMTP_SECURE: 'true', CIBA_SMTP_REQUIRE_TLS: 'false', CIBA_SMTP_USER: 'mailer', CIBA_SMTP_PASSWORD: 's3cret', CIBA_SMTP_CA_FILE: caFile },
      { productName: 'Example ID' },
    );
    expect(options).toMatchObject({ port: 465, secure: true, requireTls: false, auth: { user: 'mailer', pass: 's3cret' }, productName: 'Example ID' });
    expect(options.tls?.ca?.toString()).toBe('PEM');
  });

  it('names the variable and never the password value in errors', () => {
    const attempt = () => smtpEmailOptionsFromEnv({ CIBA_SMTP_PASSWORD: 'hunter2-very-secret', CIBA_SMTP_PORT: 'abc', CIBA_SMTP_SECURE: 'maybe' });
    expect(attempt).toThrow(/CIBA_SMTP_HOST is required/);
    expect(attempt).toThrow(/CIBA_SMTP_PORT must be a port number/);
    expect(attempt).toThrow(/CIBA_SMTP_SECURE must be true or false/);
    expect(attempt).toThrow(/CIBA_SMTP_FROM/);
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('requires user and password together', () => {
    const attempt = () => smtpEmailOptionsFromEnv({ ...base, CIBA_SMTP_PASSWORD: 'hunter2-very-secret' });
    expect(attempt).toThrow(/CIBA_SMTP_PASSWORD user and password must be set together/);
    expect(attempt).not.toThrow(/hunter2/);
  });

  it('rejects a From header with a line break and an unreadable CA file', () => {
    expect(() => smtpEmailOptionsFromEnv({ ...base, CIBA_SMTP_FROM: 'a@b.c\r\nBcc: x@y.z' })).toThrow(/CIBA_SMTP_FROM must be a single line/);
    expect(() => smtpEmailOptionsFromEnv({ ...base, CIBA_SMTP_CA_FILE: join(dir, 'missing.pem') })).toThrow(/CIBA_SMTP_CA_FILE cannot be read/);
  });

  it('exports the schema for config composition', () => {
    expect(smtpEmailConfigSchema.safeParse({ host: 'h', from: 'a@b.c', port: '2525' }).data).toMatchObject({ port: 2525, secure: false, requireTls: true });
  });
});
