import { describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { ConfigError, SENSITIVE_SETTINGS, loadConfig } from './provider-config.js';
import { webAuthnRelyingParty } from './webauthn-relying-party.js';
import { parseBootstrap } from './bootstrap-file.js';

const key = randomBytes(32).toString('base64');
const base = { CIBA_DATABASE_URL: 'postgres://u@127.0.0.1/db', CIBA_KEY_ENCRYPTION_KEY: key };

describe('loadConfig', () => {
  it('applies defaults: interval 5, ES256, issuer from port, public URLs from issuer', () => {
    const c = loadConfig(base, 'authorize', ['database', 'keys']);
    expect(c.ciba.interval).toBe(5);
    expect(c.keys.signingAlg).toBe('ES256');
    expect(c.issuer).toBe('http://localhost:3001');
    expect(c.publicUrls.token).toBe(c.issuer);
  });

  it('metrics: on the service port unless CIBA_METRICS_PORT names another port', () => {
    expect(loadConfig(base, 'token', []).metrics).toEqual({ port: null });
    expect(loadConfig({ ...base, CIBA_METRICS_PORT: '9464' }, 'token', []).metrics).toEqual({ port: 9464 });
    expect(() => loadConfig({ ...base, CIBA_PORT: '9464', CIBA_METRICS_PORT: '9464' }, 'token', [])).toThrow(/CIBA_METRICS_PORT: must differ/);
    expect(() => loadConfig({ ...base, CIBA_METRICS_PORT: '0' }, 'token', [])).toThrow(/CIBA_METRICS_PORT/);
  });

  it('NATS streams: one replica and created by the services by default; up to 5 replicas, or left to `ciba-admin streams ensure`', () => {
    expect(loadConfig(base, 'token', []).nats).toMatchObject({ streamReplicas: 1, ensureStreams: true });
    expect(loadConfig({ ...base, CIBA_NATS_STREAM_REPLICAS: '3', CIBA_NATS_ENSURE_STREAMS: 'false' }, 'token', []).nats).toMatchObject({ streamReplicas: 3, ensureStreams: false });
    expect(() => loadConfig({ ...base, CIBA_NATS_STREAM_REPLICAS: '0' }, 'token', [])).toThrow(/CIBA_NATS_STREAM_REPLICAS/);
    expect(() => loadConfig({ ...base, CIBA_NATS_STREAM_REPLICAS: '6' }, 'token', [])).toThrow(/CIBA_NATS_STREAM_REPLICAS/);
  });

  it('NATS credentials: one way at most (user and password, token, nkey seed file, creds file); refusals name the variables, never their values', () => {
    const nats = (env: Record<string, string>) => loadConfig({ ...base, ...env }, 'token', []).nats;
    expect(nats({}).auth).toEqual({ kind: 'none' });
    expect(nats({ CIBA_NATS_USER: 'ciba', CIBA_NATS_PASSWORD: 'pw-9f3a' }).auth).toEqual({ kind: 'user', user: 'ciba', password: 'pw-9f3a' });
    expect(nats({ CIBA_NATS_TOKEN: 'tok-51c2' }).auth).toEqual({ kind: 'token', token: 'tok-51c2' });
    expect(nats({ CIBA_NATS_NKEY_SEED_FILE: '/run/nats/user.nk' }).auth).toEqual({ kind: 'nkey', seedFile: '/run/nats/user.nk' });
    expect(nats({ CIBA_NATS_CREDS_FILE: '/run/nats/ciba.creds' }).auth).toEqual({ kind: 'creds', credsFile: '/run/nats/ciba.creds' });
    const refusal = (env: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...env }, 'token', []);
      } catch (err) {
        return (err as ConfigError).message;
      }
      throw new Error('accepted');
    };
    const several = refusal({ CIBA_NATS_TOKEN: 'tok-51c2', CIBA_NATS_USER: 'ciba', CIBA_NATS_PASSWORD: 'pw-9f3a' });
    expect(several).toMatch(/set one of CIBA_NATS_USER\/CIBA_NATS_PASSWORD, CIBA_NATS_TOKEN, not several/);
    expect(several).not.toMatch(/tok-51c2|pw-9f3a/);
    expect(refusal({ CIBA_NATS_USER: 'ciba' })).toMatch(/CIBA_NATS_USER and CIBA_NATS_PASSWORD: set both or neither/);
  });

  it('NATS TLS: off unless asked (or a tls:// server); a CA file, and a client certificate only with its key', () => {
    const nats = (env: Record<string, string>) => loadConfig({ ...base, ...env }, 'token', []).nats;
    expect(nats({}).tls).toBeNull();
    expect(nats({ CIBA_NATS_TLS: 'true' }).tls).toEqual({});
    expect(nats({ CIBA_NATS_TLS_CA_FILE: '/run/nats/ca.pem' }).tls).toEqual({ caFile: '/run/nats/ca.pem' });
    expect(nats({ CIBA_NATS_TLS_CERT_FILE: '/c.pem', CIBA_NATS_TLS_KEY_FILE: '/c.key' }).tls).toEqual({ certFile: '/c.pem', keyFile: '/c.key' });
    expect(() => nats({ CIBA_NATS_TLS_CERT_FILE: '/c.pem' })).toThrow(/CIBA_NATS_TLS_CERT_FILE and CIBA_NATS_TLS_KEY_FILE: set both/);
    expect(nats({}).connectTimeoutMs).toBe(10_000);
  });

  it('RFC 8705 mutual TLS: off by default; the certificate header needs the trusted proxies, given as CIDRs', () => {
    expect(loadConfig(base, 'token', []).mtls).toBeNull();
    const on = loadConfig({ ...base, CIBA_MTLS_CLIENT_CERT_HEADER: 'X-SSL-Client-Cert', CIBA_MTLS_TRUSTED_PROXIES: '10.0.0.0/8 fd00::/8' }, 'token', []);
    expect(on.mtls).toEqual({ certHeader: 'x-ssl-client-cert', encoding: 'url-encoded-pem', trustedProxies: ['10.0.0.0/8', 'fd00::/8'], verifyHeader: null });
    expect(() => loadConfig({ ...base, CIBA_MTLS_CLIENT_CERT_HEADER: 'X-SSL-Client-Cert' }, 'token', [])).toThrow('CIBA_MTLS_TRUSTED_PROXIES: required');
    expect(() => loadConfig({ ...base, CIBA_MTLS_CLIENT_CERT_HEADER: 'X-SSL-Client-Cert', CIBA_MTLS_TRUSTED_PROXIES: '10.0.0.0/33 proxy.internal' }, 'token', [])).toThrow('not CIDRs: 10.0.0.0/33 proxy.internal');
    expect(() => loadConfig({ ...base, CIBA_MTLS_TRUSTED_PROXIES: '10.0.0.0/8' }, 'token', [])).toThrow('set CIBA_MTLS_CLIENT_CERT_HEADER too');
    expect(() => loadConfig({ ...base, CIBA_MTLS_CLIENT_CERT_HEADER: 'X SSL', CIBA_MTLS_TRUSTED_PROXIES: '10.0.0.0/8' }, 'token', [])).toThrow('CIBA_MTLS_CLIENT_CERT_HEADER');
    expect(() => loadConfig({ ...base, CIBA_MTLS_CLIENT_CERT_HEADER: 'X-SSL', CIBA_MTLS_TRUSTED_PROXIES: '10.0.0.0/8', CIBA_MTLS_CLIENT_CERT_ENCODING: 'pem' }, 'token', [])).toThrow('CIBA_MTLS_CLIENT_CERT_ENCODING');
  });

  it('CIBA_TRUST_PROXY: off by default; true, a hop count or the proxies\' CIDRs; anything else is refused', () => {
    const trust = (value?: string) => loadConfig({ ...base, ...(value === undefined ? {} : { CIBA_TRUST_PROXY: value }) }, 'token', []).http.trustProxy;
    expect(trust()).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('0')).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('1')).toBe(1);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.0/8, fd00::/8')).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(() => trust('11')).toThrow('CIBA_TRUST_PROXY: a number of proxy hops must be 1–10');
    expect(() => trust('yes')).toThrow('CIBA_TRUST_PROXY: false, true, a hop count (1–10) or the proxies\' CIDRs; not CIDRs: yes');
    expect(() => trust('10.0.0.0/8 ingress.internal')).toThrow('not CIDRs: ingress.internal');
  });

  it('names every missing required variable at once', () => {
    expect.assertions(3);
    try {
      loadConfig({}, 'token', ['database', 'keys']);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).message).toContain('CIBA_DATABASE_URL');
      expect((err as ConfigError).message).toContain('CIBA_KEY_ENCRYPTION_KEY');
    }
  });

  it('treats empty variables as unset', () => {
    expect(() => loadConfig({ ...base, CIBA_DATABASE_URL: '' }, 'token', ['database'])).toThrow(/CIBA_DATABASE_URL: required/);
    expect(loadConfig({ ...base, CIBA_POLL_INTERVAL: '' }, 'token', []).ciba.interval).toBe(5);
  });

  it('rejects a key encryption key that is not 32 bytes, without echoing it', () => {
    const bad = 'c2hvcnQta2V5';
    expect(() => loadConfig({ ...base, CIBA_KEY_ENCRYPTION_KEY: bad }, 'token', ['keys'])).toThrow(/exactly 32 bytes/);
    try {
      loadConfig({ ...base, CIBA_KEY_ENCRYPTION_KEY: bad }, 'token', ['keys']);
    } catch (err) {
      expect((err as Error).message).not.toContain(bad);
    }
  });

  it('audit evidence record: takes CIBA_AUDIT_HMAC_KEY when set (32 bytes), a sensitive setting, never echoing a bad one', () => {
    expect(SENSITIVE_SETTINGS).toContain('CIBA_AUDIT_HMAC_KEY');
    expect(loadConfig(base, 'authorize', ['keys']).keys.auditHintKey).toBeNull();
    const auditKey = Buffer.alloc(32, 9).toString('base64url');
    expect(loadConfig({ ...base, CIBA_AUDIT_HMAC_KEY: auditKey }, 'authorize', ['keys']).keys.auditHintKey).toBe(auditKey);
    const bad = 'c2hvcnQtYXVkaXQta2V5';
    expect(() => loadConfig({ ...base, CIBA_AUDIT_HMAC_KEY: bad }, 'authorize', [])).toThrow(/CIBA_AUDIT_HMAC_KEY: must decode to exactly 32 bytes/);
    try {
      loadConfig({ ...base, CIBA_AUDIT_HMAC_KEY: bad }, 'authorize', []);
    } catch (err) {
      expect((err as Error).message).not.toContain(bad);
    }
  });

  it('OpenID Connect Core §8.1 takes CIBA_PAIRWISE_SUBJECT_KEY when set (32 bytes), never echoing a bad one', () => {
    expect(SENSITIVE_SETTINGS).toContain('CIBA_PAIRWISE_SUBJECT_KEY');
    expect(loadConfig(base, 'token', ['keys']).keys.pairwiseSubjectKey).toBeNull();
    const pairwiseKey = Buffer.alloc(32, 7).toString('base64url');
    expect(loadConfig({ ...base, CIBA_PAIRWISE_SUBJECT_KEY: pairwiseKey }, 'token', ['keys']).keys.pairwiseSubjectKey).toBe(pairwiseKey);
    const bad = 'c2hvcnQta2V5';
    expect(() => loadConfig({ ...base, CIBA_PAIRWISE_SUBJECT_KEY: bad }, 'token', [])).toThrow(/CIBA_PAIRWISE_SUBJECT_KEY: must decode to exactly 32 bytes/);
    expect(() => loadConfig({ ...base, CIBA_PAIRWISE_SUBJECT_KEY: 'not base64 at all!' }, 'token', [])).toThrow(/CIBA_PAIRWISE_SUBJECT_KEY/);
    try {
      loadConfig({ ...base, CIBA_PAIRWISE_SUBJECT_KEY: bad }, 'token', []);
    } catch (err) {
      expect((err as Error).message).not.toContain(bad);
    }
  });

  it('rejects inconsistent expiry bounds, bad modes, an invalid pattern and scopes without openid', () => {
    const env = { ...base, CIBA_MIN_EXPIRES_IN: '600', CIBA_DELIVERY_MODES: 'poll carrier-pigeon', CIBA_BINDING_MESSAGE_PATTERN: '(', CIBA_SCOPES: 'profile' };
    expect(() => loadConfig(env, 'authorize', [])).toThrow(ConfigError);
    try {
      loadConfig(env, 'authorize', []);
    } catch (err) {
      expect((err as ConfigError).problems).toHaveLength(4);
    }
  });

  it('strips a trailing slash from the issuer and takes per-service public URLs', () => {
    const c = loadConfig({ ...base, CIBA_ISSUER: 'https://op.example.com/', CIBA_TOKEN_URL: 'https://token.example.com' }, 'authorize', []);
    expect(c.issuer).toBe('https://op.example.com');
    expect(c.publicUrls.token).toBe('https://token.example.com');
    expect(c.publicUrls.authorize).toBe('https://op.example.com');
  });
});

describe('loadConfig: reaching users', () => {
  it('defaults to the HTTP channel, then device push, email, SMS, and prompt limits scoped to the client', () => {
    const c = loadConfig(base, 'notifier', ['database', 'keys']);
    expect(c.notifications).toEqual({
      preference: ['http', 'device-push', 'email', 'sms'],
      promptLimits: {
        clientUser: { limit: 5, windowMs: 600_000 },
        client: { limit: 1000, windowMs: 60_000 },
        denialBackoff: { threshold: 3, windowMs: 3_600_000, baseMs: 300_000, maxMs: 3_600_000 },
      },
      enrolmentLinkTtl: 900,
    });
  });

  it('takes a comma- or space-separated preference, and 0 turns a prompt limit off', () => {
    const c = loadConfig(
      { ...base, CIBA_CHANNEL_PREFERENCE: 'email, sms', CIBA_CLIENT_USER_NOTIFICATION_LIMIT: '0', CIBA_CLIENT_NOTIFICATION_LIMIT: '0', CIBA_DENIAL_BACKOFF_THRESHOLD: '0' },
      'notifier',
      ['database', 'keys'],
    );
    expect(c.notifications.preference).toEqual(['email', 'sms']);
    expect(c.notifications.promptLimits).toMatchObject({ clientUser: { limit: 0 }, client: { limit: 0 }, denialBackoff: { threshold: 0 } });
  });

  it('one client silences a user: the per-user limit shared by all clients is gone, and setting it is an error naming the replacements', () => {
    for (const removed of ['CIBA_USER_NOTIFICATION_LIMIT', 'CIBA_USER_NOTIFICATION_WINDOW_SECONDS']) {
      expect(() => loadConfig({ ...base, [removed]: '10' }, 'notifier', [])).toThrow(
        new RegExp(`${removed}: removed.*CIBA_CLIENT_USER_NOTIFICATION_LIMIT, CIBA_CLIENT_NOTIFICATION_LIMIT and CIBA_DENIAL_BACKOFF_THRESHOLD`),
      );
    }
  });

  it('the denial back-off may not start longer than its cap', () => {
    expect(() => loadConfig({ ...base, CIBA_DENIAL_BACKOFF_SECONDS: '600', CIBA_DENIAL_BACKOFF_MAX_SECONDS: '60' }, 'notifier', [])).toThrow(/CIBA_DENIAL_BACKOFF_SECONDS <= CIBA_DENIAL_BACKOFF_MAX_SECONDS/);
  });

  it('rejects unknown or repeated channels in the preference', () => {
    expect(() => loadConfig({ ...base, CIBA_CHANNEL_PREFERENCE: 'email pigeon' }, 'notifier', [])).toThrow(/CIBA_CHANNEL_PREFERENCE/);
    expect(() => loadConfig({ ...base, CIBA_CHANNEL_PREFERENCE: 'email email' }, 'notifier', [])).toThrow(/CIBA_CHANNEL_PREFERENCE/);
  });
});

describe('loadConfig: devices', () => {
  it('accepts ID tokens attesting an authentication at most 10 minutes old, and keeps registrations 90 days, by default', () => {
    expect(loadConfig(base, 'notifier', []).devices).toEqual({ idTokenMaxAge: 600, registrationTtl: 90 * 24 * 3600 });
    const c = loadConfig({ ...base, CIBA_DEVICE_ID_TOKEN_MAX_AGE: '120', CIBA_DEVICE_REGISTRATION_TTL: '86400' }, 'notifier', []);
    expect(c.devices).toEqual({ idTokenMaxAge: 120, registrationTtl: 86400 });
  });

  it('refuses a maximum age or a lifetime that is not a positive number of seconds', () => {
    expect(() => loadConfig({ ...base, CIBA_DEVICE_ID_TOKEN_MAX_AGE: '0' }, 'notifier', [])).toThrow(/CIBA_DEVICE_ID_TOKEN_MAX_AGE/);
    expect(() => loadConfig({ ...base, CIBA_DEVICE_REGISTRATION_TTL: 'forever' }, 'notifier', [])).toThrow(/CIBA_DEVICE_REGISTRATION_TTL/);
  });
});

describe('loadConfig: passkey step-up', () => {
  it('treats the OpenID EAP values phr and phrh as passkey-level by default; none turns step-up off', () => {
    expect(loadConfig(base, 'notifier', []).stepUp.passkeyAcrValues).toEqual(['phr', 'phrh']);
    expect(loadConfig({ ...base, CIBA_PASSKEY_ACR_VALUES: 'phr urn:bank:strong' }, 'notifier', []).stepUp.passkeyAcrValues).toEqual(['phr', 'urn:bank:strong']);
    expect(loadConfig({ ...base, CIBA_PASSKEY_ACR_VALUES: 'none' }, 'notifier', []).stepUp.passkeyAcrValues).toEqual([]);
  });

  it('the relying party is the notifier: its host is the RP ID and its origin the only origin', () => {
    const c = loadConfig({ ...base, CIBA_ISSUER: 'https://op.example.com', CIBA_NOTIFIER_URL: 'https://approve.example.com/' }, 'notifier', []);
    expect(c.stepUp.relyingParty).toEqual({ id: 'approve.example.com', origin: 'https://approve.example.com' });
  });

  it('has no relying party where browsers allow no WebAuthn: an IP address, or plain http off localhost', () => {
    expect(webAuthnRelyingParty('http://127.0.0.1:3000')).toBeNull();
    expect(webAuthnRelyingParty('https://[::1]:3000')).toBeNull();
    expect(webAuthnRelyingParty('https://10.0.0.8')).toBeNull();
    expect(webAuthnRelyingParty('http://op.example.com')).toBeNull();
    expect(webAuthnRelyingParty('http://localhost:3000')).toEqual({ id: 'localhost', origin: 'http://localhost:3000' });
    expect(webAuthnRelyingParty('https://op.example.com:8443')).toEqual({ id: 'op.example.com', origin: 'https://op.example.com:8443' });
  });
});

describe('parseBootstrap', () => {
  it('takes default_acr_values (OIDC Registration §2), none by default, and refuses a value twice or with a space', () => {
    const d = parseBootstrap({ clients: [{ client_id: 'c1', client_secret: 'long-enough-secret', default_acr_values: ['phr'] }, { client_id: 'c2', client_secret: 'long-enough-secret' }] });
    expect(d.clients.map((c) => c.default_acr_values)).toEqual([['phr'], []]);
    expect(() => parseBootstrap({ clients: [{ client_id: 'c', client_secret: 'long-enough-secret', default_acr_values: ['phr', 'phr'] }] })).toThrow(/twice/);
    expect(() => parseBootstrap({ clients: [{ client_id: 'c', client_secret: 'long-enough-secret', default_acr_values: ['phr phrh'] }] })).toThrow(/default_acr_values/);
  });

  it("takes a user's own ordered channel_preference, and refuses unknown or repeated channels", () => {
    const d = parseBootstrap({ users: [{ sub: 'u1', channel_preference: ['sms', 'email'] }] });
    expect(d.users[0]?.channel_preference).toEqual(['sms', 'email']);
    expect(() => parseBootstrap({ users: [{ sub: 'u1', channel_preference: ['fax'] }] })).toThrow(/channel_preference/);
    expect(() => parseBootstrap({ users: [{ sub: 'u1', channel_preference: ['sms', 'sms'] }] })).toThrow(/twice/);
  });

  it('uses RFC 7591 / CIBA registration names with defaults', () => {
    const d = parseBootstrap({ clients: [{ client_id: 'c1', client_secret: 'long-enough-secret' }], users: [{ sub: 'u1', email: 'a@example.com' }] });
    expect(d.clients[0]?.backchannel_token_delivery_mode).toBe('poll');
    expect(d.clients[0]?.grant_types).toEqual(['urn:openid:params:grant-type:ciba']);
    expect(d.users[0]?.email_verified).toBe(false);
  });

  it('CIBA §4 requires a notification endpoint for ping and push clients', () => {
    expect(() => parseBootstrap({ clients: [{ client_id: 'c1', client_secret: 'long-enough-secret', backchannel_token_delivery_mode: 'ping' }] })).toThrow(
      /backchannel_client_notification_endpoint/,
    );
  });

  it('rejects unknown fields and duplicate client ids', () => {
    expect(() => parseBootstrap({ clients: [{ client_id: 'c', client_secret: 'long-enough-secret', colour: 'red' }] })).toThrow(/invalid/);
    const c = { client_id: 'c', client_secret: 'long-enough-secret' };
    expect(() => parseBootstrap({ clients: [c, c] })).toThrow(/appears twice/);
  });
});

describe('loadConfig: client authentication throttling', () => {
  it('defaults: 10 failures per client id and 50 per address in 5 minutes; 2 scrypt runs at once, 32 waiting', () => {
    expect(loadConfig(base, 'token', []).clientAuth).toEqual({
      failureLimitPerClient: 10,
      failureLimitPerAddress: 50,
      failureWindowMs: 300_000,
      hashConcurrency: 2,
      hashQueueLimit: 32,
      assertionMaxLifetimeMs: 300_000,
      assertionClockSkewMs: 30_000,
      jwksRefetchIntervalMs: 60_000,
      jwksCacheMs: 600_000,
    });
  });

  it('rejects a hashing concurrency of 0 (nothing would ever verify)', () => {
    expect(() => loadConfig({ ...base, CIBA_SECRET_HASH_CONCURRENCY: '0' }, 'token', [])).toThrow(/CIBA_SECRET_HASH_CONCURRENCY/);
  });
});

describe('loadConfig: user codes (CIBA §7.1)', () => {
  it('defaults: 5 checks per user in 15 minutes, then a 15-minute lock', () => {
    expect(loadConfig(base, 'authorize', []).userCode).toEqual({ attemptLimit: 5, windowMs: 900_000, lockMs: 900_000 });
  });

  it('takes CIBA_USER_CODE_* settings and refuses a limit of 0 (a short code must never be guessable without end)', () => {
    const env = { ...base, CIBA_USER_CODE_ATTEMPT_LIMIT: '3', CIBA_USER_CODE_WINDOW_SECONDS: '60', CIBA_USER_CODE_LOCK_SECONDS: '3600' };
    expect(loadConfig(env, 'authorize', []).userCode).toEqual({ attemptLimit: 3, windowMs: 60_000, lockMs: 3_600_000 });
    for (const [name, value] of [['CIBA_USER_CODE_ATTEMPT_LIMIT', '0'], ['CIBA_USER_CODE_WINDOW_SECONDS', '0'], ['CIBA_USER_CODE_LOCK_SECONDS', 'soon']]) {
      expect(() => loadConfig({ ...base, [name]: value }, 'authorize', [])).toThrow(new RegExp(name));
    }
  });
});

describe('parseBootstrap: user_code (CIBA §7.1)', () => {
  it("takes a user's user_code of 4 to 256 characters, and refuses a shorter, longer or control-character one", () => {
    expect(parseBootstrap({ users: [{ sub: 'u1', user_code: '4821' }] }).users[0]?.user_code).toBe('4821');
    expect(parseBootstrap({ users: [{ sub: 'u1' }] }).users[0]?.user_code).toBeUndefined();
    for (const code of ['482', 'x'.repeat(257), '4821\u0000', 'ab\ncd']) {
      expect(() => parseBootstrap({ users: [{ sub: 'u1', user_code: code }] })).toThrow(/user_code/);
    }
  });
});
