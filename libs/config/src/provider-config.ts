import { isIP } from 'node:net';
import { z } from 'zod';
import { SIGNING_ALGS, TOKEN_DELIVERY_MODES } from '@ciba/protocol';
import { NOTIFICATION_CHANNELS, type NotificationChannel, type PromptLimits } from '@ciba/domain';
import { type ClientAuthLimits, LIMIT_SETTINGS, clientAuthLimits, limitProblems, promptLimits, userCodeLimits } from './limits-config.js';
import type { UserCodeLimits } from '@ciba/domain';
import { parseSigningAlgs } from './signing-algs.js';
import { REGISTRATION_SETTINGS, type RegistrationSettings, registrationSettings } from './registration-config.js';
import { type HintConfig, hintConfig } from './hint-config.js';
import { type WebAuthnRelyingParty, webAuthnRelyingParty } from './webauthn-relying-party.js';

/**
 * The provider's configuration, parsed once at boot from the environment (`CIBA_*`). Every service
 * reads the same names; each declares which sections it needs, and a missing or malformed value
 * stops the process with a message naming the variable. Values in `SENSITIVE_SETTINGS` never reach
 * a log.
 */
export const SENSITIVE_SETTINGS = ['CIBA_KEY_ENCRYPTION_KEY', 'CIBA_DATABASE_URL', 'CIBA_PAIRWISE_SUBJECT_KEY', 'CIBA_AUDIT_HMAC_KEY', 'CIBA_LOGIN_HINT_DIRECTORY_TOKEN', 'CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN'] as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const url = z.string().url();
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/**
 * RFC 8705: how the TLS-terminating proxy forwards the client certificate it verified:
 * `url-encoded-pem` (nginx `$ssl_client_escaped_cert`), `base64-der` (HAProxy `ssl_c_der,base64`),
 * `xfcc` (Envoy `x-forwarded-client-cert`, its `Cert=` element).
 */
export const MTLS_CERT_ENCODINGS = ['url-encoded-pem', 'base64-der', 'xfcc'] as const;
export type MtlsCertEncoding = (typeof MTLS_CERT_ENCODINGS)[number];

const envSchema = z.object({
  CIBA_ISSUER: url.optional(),
  CIBA_HOST: z.string().default('0.0.0.0'),
  CIBA_PORT: int(0, 65535).optional(),
  CIBA_AUTHORIZE_URL: url.optional(),
  CIBA_TOKEN_URL: url.optional(),
  CIBA_NOTIFIER_URL: url.optional(),
  CIBA_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  CIBA_DATABASE_POOL_SIZE: int(1, 200).default(10),
  CIBA_DATABASE_CONNECT_TIMEOUT_MS: int(100, 120000).default(5000),
  CIBA_DATABASE_STATEMENT_TIMEOUT_MS: int(0, 3600000).default(30000),
  CIBA_READINESS_TIMEOUT_MS: int(100, 60000).default(2000),
  CIBA_NATS_SERVERS: z.string().default('nats://127.0.0.1:4222'),
  CIBA_BUS_CONCURRENCY: int(1, 1024).default(32),
  CIBA_NATS_STREAM_REPLICAS: int(1, 5).default(1),
  CIBA_NATS_USER: z.string().optional(),
  CIBA_NATS_PASSWORD: z.string().optional(),
  CIBA_NATS_TOKEN: z.string().optional(),
  CIBA_NATS_NKEY_SEED_FILE: z.string().optional(),
  CIBA_NATS_CREDS_FILE: z.string().optional(),
  CIBA_NATS_TLS: bool.default(false),
  CIBA_NATS_CONNECT_TIMEOUT_MS: int(100, 120000).default(10000),
  CIBA_NATS_TLS_CA_FILE: z.string().optional(),
  CIBA_NATS_TLS_CERT_FILE: z.string().optional(),
  CIBA_NATS_TLS_KEY_FILE: z.string().optional(),
  CIBA_NATS_ENSURE_STREAMS: bool.default(true),
  CIBA_BUS_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1–32 characters of A-Z a-z 0-9 _ -').optional(),
  CIBA_KEY_ENCRYPTION_KEY: z.string().optional(),
  CIBA_PAIRWISE_SUBJECT_KEY: z.string().optional(),
  CIBA_AUDIT_HMAC_KEY: z.string().optional(),
  CIBA_SIGNING_ALG: z.enum(SIGNING_ALGS).optional(),
  CIBA_SIGNING_ALGS: z.string().optional(),
  CIBA_SIGNING_KEY_ROTATION_DAYS: int(0, 3650).default(90),
  CIBA_BOOTSTRAP_FILE: z.string().optional(),
  CIBA_DELIVERY_MODES: z.string().default('poll ping push'),
  CIBA_PING_ON_EXPIRY: bool.default(true),
  CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK: bool.default(false),
  CIBA_CALLBACK_ALLOWED_CIDRS: z.string().default(''),
  CIBA_CALLBACK_CONNECT_TIMEOUT_MS: int(100, 60000).default(5000),
  CIBA_CALLBACK_RESPONSE_TIMEOUT_MS: int(100, 120000).default(10000),
  CIBA_CALLBACK_MAX_ATTEMPTS: int(1, 100).default(10),
  CIBA_CALLBACK_ACK_WAIT_MS: int(1000, 600000).default(30000),
  CIBA_CALLBACK_CA_FILE: z.string().optional(),
  CIBA_DEFAULT_EXPIRES_IN: int(1, 86400).default(300),
  CIBA_MIN_EXPIRES_IN: int(1, 86400).default(10),
  CIBA_MAX_EXPIRES_IN: int(1, 86400).default(1800),
  CIBA_POLL_INTERVAL: int(1, 600).default(5),
  CIBA_BINDING_MESSAGE_PATTERN: z.string().optional(),
  CIBA_BINDING_MESSAGE_MAX_LENGTH: int(1, 1024).default(64),
  CIBA_ACCESS_TOKEN_TTL: int(30, 86400).default(600),
  CIBA_ID_TOKEN_TTL: int(30, 86400).default(600),
  CIBA_REFRESH_TOKEN_TTL: int(60, 31536000).default(2592000),
  CIBA_SCOPES: z.string().default('openid profile email phone offline_access'),
  CIBA_AUTH_CHANNEL_URI: url.optional(),
  CIBA_AUTH_CHANNEL_TIMEOUT_MS: int(100, 60000).default(5000),
  CIBA_CHANNEL_PREFERENCE: z.string().default('http device-push email sms'),
  CIBA_ENROLMENT_LINK_TTL: int(60, 604800).default(900),
  CIBA_DEVICE_ID_TOKEN_MAX_AGE: int(1, 86400).default(600),
  CIBA_DEVICE_REGISTRATION_TTL: int(60, 315360000).default(7776000),
  CIBA_PASSKEY_ACR_VALUES: z.string().default('phr phrh'),
  CIBA_SWEEP_INTERVAL_MS: int(100, 600000).default(1000),
  CIBA_RENOTIFY_AFTER_MS: int(1000, 3600000).default(30000),
  CIBA_REPUBLISH_AFTER_MS: int(100, 3600000).default(5000),
  CIBA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CIBA_TRUST_PROXY: z.string().default('false'),
  CIBA_MTLS_CLIENT_CERT_HEADER: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name').optional(),
  CIBA_MTLS_CLIENT_CERT_ENCODING: z.enum(MTLS_CERT_ENCODINGS).default('url-encoded-pem'),
  CIBA_MTLS_CLIENT_CERT_VERIFY_HEADER: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be an HTTP header name').optional(),
  CIBA_MTLS_TRUSTED_PROXIES: z.string().optional(),
  CIBA_DPOP_IAT_WINDOW: int(5, 600).default(60),
  CIBA_DPOP_NONCE_REQUIRED: bool.default(true),
  CIBA_DPOP_NONCE_LIFETIME: int(30, 3600).default(300),
  CIBA_SHUTDOWN_TIMEOUT_MS: int(0, 600000).default(10000),
  CIBA_METRICS_PORT: int(1, 65535).optional(),
  CIBA_AUDIT_CHECKPOINT_EVERY: int(1, 10000000).default(1000),
  CIBA_AUDIT_CHECKPOINT_SECONDS: int(1, 86400).default(300),
  CIBA_AUDIT_RETENTION_DAYS: int(0, 36500).default(0),
  CIBA_AUDIT_PRUNE_INTERVAL_SECONDS: int(60, 86400).default(3600),
  ...LIMIT_SETTINGS,
  ...REGISTRATION_SETTINGS,
});

/** Mutual-TLS client authentication and certificate-bound tokens (RFC 8705), behind a TLS-terminating proxy. */
export interface MtlsSettings {
  /** The request header (lower case) carrying the client certificate. */
  readonly certHeader: string;
  readonly encoding: MtlsCertEncoding;
  /** Peer addresses (CIDRs) whose certificate header is believed; from any other peer it is ignored. */
  readonly trustedProxies: readonly string[];
  /** nginx `$ssl_client_verify`: when set, tls_client_auth needs its value `SUCCESS` (the proxy verified the chain). */
  readonly verifyHeader: string | null;
}

/** DPoP proofs (RFC 9449) at the token endpoint and UserInfo. */
export interface DpopSettings {
  /** §4.3 (11): how far a proof's `iat` may lie from now, either way, in seconds (its jti is kept that long). */
  readonly iatWindowSeconds: number;
  /** §8 / §9: proofs must carry a server nonce (`use_dpop_nonce` otherwise). */
  readonly nonceRequired: boolean;
  /** Seconds each nonce is current; it is accepted for one more such period. */
  readonly nonceLifetimeSeconds: number;
}

export type ServiceName = 'authorize' | 'token' | 'notifier' | 'audit' | 'callback-dispatcher' | 'all-in-one' | 'admin';

export interface ProviderConfig {
  readonly service: ServiceName;
  readonly issuer: string;
  /**
   * `trustProxy`: which peers' `X-Forwarded-*` headers are believed (Express's `trust proxy`): false
   * (none), a number of proxy hops in front of the service, the proxies' CIDRs, or true (every
   * peer: the left-most `X-Forwarded-For` address, which a client can write unless its proxy
   * replaces the header).
   */
  readonly http: { readonly host: string; readonly port: number; readonly trustProxy: TrustProxy };
  /** Prometheus `/metrics`: on its own port when `port` is set (and then not on the service's port). */
  readonly metrics: { readonly port: number | null };
  /** Public URLs of each service, as advertised in discovery; all default to the issuer. */
  readonly publicUrls: { readonly authorize: string; readonly token: string; readonly notifier: string };
  readonly database: {
    readonly url: string;
    readonly poolSize: number;
    /** How long opening a connection may take. */
    readonly connectTimeoutMs: number;
    /** PostgreSQL cancels a statement running longer (0: never). */
    readonly statementTimeoutMs: number;
  };
  /** How long each readiness check (database, NATS) may take before `/readyz` counts it failing. */
  readonly readinessTimeoutMs: number;
  /** `prefix` namespaces streams, subjects, consumers and the KV bucket, for several deployments on one NATS. */
  readonly nats: {
    readonly servers: readonly string[];
    readonly prefix: string | null;
    readonly concurrency: number;
    /** Replicas of the streams and the poll-state bucket (3 on a JetStream cluster). */
    readonly streamReplicas: number;
    /** Whether services create and update the streams and consumers on start (`ciba-admin streams ensure` otherwise). */
    readonly ensureStreams: boolean;
    /** How every process proves itself to NATS (one way at most). */
    readonly auth: NatsAuthSettings;
    /** TLS to NATS, required when set; null: as the server URLs say (`tls://` requires it). */
    readonly tls: NatsTlsSettings | null;
    /** How long a first connection may take before the process gives up (and exits, at start). */
    readonly connectTimeoutMs: number;
  };
  readonly keys: {
    readonly encryptionKey: string;
    /** The default algorithm: access tokens, and ID tokens of clients that registered none. The first of `signingAlgs`. */
    readonly signingAlg: (typeof SIGNING_ALGS)[number];
    /** Every algorithm with an active key, the default first; RS256 always among them. */
    readonly signingAlgs: readonly (typeof SIGNING_ALGS)[number][];
    /** Scheduled rotation: a signing key is replaced once it is this many days old; 0: only by hand (`ciba-admin keys rotate`). */
    readonly rotationDays: number;
    /** OpenID Connect Core §8.1: the key pairwise subjects are derived from (`CIBA_PAIRWISE_SUBJECT_KEY`); null or absent: derived from `encryptionKey`. */
    readonly pairwiseSubjectKey?: string | null;
    /** The key the audit evidence record's user-hint hashes are derived from (`CIBA_AUDIT_HMAC_KEY`); null or absent: derived from `encryptionKey`. */
    readonly auditHintKey?: string | null;
  };
  readonly bootstrapFile: string | null;
  readonly ciba: {
    readonly deliveryModes: readonly (typeof TOKEN_DELIVERY_MODES)[number][];
    readonly defaultExpiresIn: number;
    readonly minExpiresIn: number;
    readonly maxExpiresIn: number;
    readonly interval: number;
    readonly bindingMessage: { readonly pattern: string | null; readonly maxLength: number };
    readonly scopes: readonly string[];
  };
  readonly tokens: { readonly accessTokenTtl: number; readonly idTokenTtl: number; readonly refreshTokenTtl: number };
  readonly authChannel: { readonly uri: string | null; readonly timeoutMs: number };
  /** How the notifier reaches users. */
  readonly notifications: {
    /** The deployment's ordered channel preference; a user's own preference replaces it. Channels not enabled are skipped. */
    readonly preference: readonly NotificationChannel[];
    /** Prompt limits, each per asking client (per client and user, per client, back-off after the user's denials). */
    readonly promptLimits: PromptLimits;
    /** Lifetime of a one-time device enrolment link, in seconds. */
    readonly enrolmentLinkTtl: number;
  };
  /** The device registration API and the lifetime of registrations. */
  readonly devices: {
    /** Oldest `auth_time` (seconds ago) an ID token may attest to register, list or remove devices. */
    readonly idTokenMaxAge: number;
    /** Lifetime of a device registration, in seconds; after it the device is neither listed nor notified. */
    readonly registrationTtl: number;
  };
  /** Passkey (WebAuthn) step-up on the approval page. */
  readonly stepUp: {
    /** ACR values a passkey satisfies: a request asking for one (or inheriting one) is approved only with a passkey. */
    readonly passkeyAcrValues: readonly string[];
    /**
     * The WebAuthn relying party: the notifier's host name (the RP ID) and origin. Null when its
     * public URL cannot host WebAuthn: an IP address, or plain http on a host other than localhost.
     */
    readonly relyingParty: WebAuthnRelyingParty | null;
  };
  /** Ping and push callbacks to clients' notification endpoints. */
  readonly callbacks: {
    readonly pingOnExpiry: boolean;
    /** Development only: accept and call plain http:// endpoints on loopback hosts. */
    readonly allowHttpLoopback: boolean;
    /** Address ranges exempt from the SSRF ban on private, loopback and link-local addresses. */
    readonly allowedCidrs: readonly string[];
    readonly connectTimeoutMs: number;
    readonly responseTimeoutMs: number;
    readonly maxAttempts: number;
    /** How long a delivery may go unacknowledged before the bus hands it to another dispatcher (crash recovery time). */
    readonly ackWaitMs: number;
    /** Extra CA certificates (PEM file) trusted for notification endpoints. */
    readonly caFile: string | null;
  };
  readonly sweeper: {
    readonly intervalMs: number;
    readonly renotifyAfterMs: number;
    /** Republish the outcome event of a request decided or expired this long ago whose publication was not confirmed. */
    readonly republishAfterMs: number;
  };
  /** Failed client authentication throttling and bounded secret hashing. */
  readonly clientAuth: ClientAuthLimits;
  /** CIBA §7.1 user code verifications per user before a lock (CIBA_USER_CODE_*). */
  readonly userCode: UserCodeLimits;
  /** Dynamic client registration (RFC 7591 / 7592, CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN). */
  readonly registration: RegistrationSettings;
  /** CIBA §7.1 hints: login_hint forms, the user directory, trusted login_hint_token issuers (CIBA_LOGIN_HINT_*). */
  readonly hints: HintConfig;
  readonly log: { readonly level: string };
  readonly shutdownTimeoutMs: number;
  /** RFC 8705 mutual TLS: null (off) unless CIBA_MTLS_CLIENT_CERT_HEADER is set. */
  readonly mtls?: MtlsSettings | null;
  /** RFC 9449 DPoP (CIBA_DPOP_*); absent: the defaults (`DEFAULT_DPOP_SETTINGS`). */
  readonly dpop?: DpopSettings;
  /** Signed checkpoints of the audit hash chain (CIBA_AUDIT_CHECKPOINT_*); absent: `DEFAULT_AUDIT_CHECKPOINTS`. */
  readonly auditCheckpoints?: AuditCheckpointSettings;
  /** Retention of the audit trail (CIBA_AUDIT_RETENTION_DAYS, CIBA_AUDIT_PRUNE_INTERVAL_SECONDS); absent: `DEFAULT_AUDIT_RETENTION`. */
  readonly auditRetention?: AuditRetentionSettings;
}

/** A checkpoint is signed once `every` entries were appended since the last one, or `seconds` after it when any were. */
export interface AuditCheckpointSettings {
  readonly every: number;
  readonly seconds: number;
}

export const DEFAULT_AUDIT_CHECKPOINTS: AuditCheckpointSettings = { every: 1000, seconds: 300 };

/** The audit trail is pruned past `days` (0: kept forever), every `intervalSeconds`. */
export interface AuditRetentionSettings {
  readonly days: number;
  readonly intervalSeconds: number;
}

export const DEFAULT_AUDIT_RETENTION: AuditRetentionSettings = { days: 0, intervalSeconds: 3600 };

export const DEFAULT_DPOP_SETTINGS: DpopSettings = { iatWindowSeconds: 60, nonceRequired: true, nonceLifetimeSeconds: 300 };

export type ConfigSection = 'database' | 'nats' | 'keys';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const DEFAULT_PORTS: Record<ServiceName, number> = {
  'all-in-one': 3000,
  authorize: 3001,
  token: 3002,
  notifier: 3003,
  audit: 3004,
  'callback-dispatcher': 3005,
  admin: 0,
};

/** TLS to NATS: the CA that signed the servers' certificates, and a client certificate for mutual TLS. */
export interface NatsTlsSettings {
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/** How a process proves itself to NATS: none, user and password, a token, an nkey seed file or a creds (JWT) file. */
export type NatsAuthSettings =
  | { readonly kind: 'none' }
  | { readonly kind: 'user'; readonly user: string; readonly password: string }
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'nkey'; readonly seedFile: string }
  | { readonly kind: 'creds'; readonly credsFile: string };

type Env = z.infer<typeof envSchema>;

/** One way at most; a user needs its password. Problems name variables, never their values. */
function natsAuth(e: Env, problems: string[]): NatsAuthSettings {
  const ways = [
    e.CIBA_NATS_USER !== undefined || e.CIBA_NATS_PASSWORD !== undefined ? 'CIBA_NATS_USER/CIBA_NATS_PASSWORD' : null,
    e.CIBA_NATS_TOKEN !== undefined ? 'CIBA_NATS_TOKEN' : null,
    e.CIBA_NATS_NKEY_SEED_FILE !== undefined ? 'CIBA_NATS_NKEY_SEED_FILE' : null,
    e.CIBA_NATS_CREDS_FILE !== undefined ? 'CIBA_NATS_CREDS_FILE' : null,
  ].filter((way): way is string => way !== null);
  if (ways.length > 1) {
    problems.push(`NATS authentication: set one of ${ways.join(', ')}, not several`);
    return { kind: 'none' };
  }
  if (e.CIBA_NATS_USER !== undefined || e.CIBA_NATS_PASSWORD !== undefined) {
    if (e.CIBA_NATS_USER === undefined || e.CIBA_NATS_PASSWORD === undefined) {
      problems.push('CIBA_NATS_USER and CIBA_NATS_PASSWORD: set both or neither');
      return { kind: 'none' };
    }
    return { kind: 'user', user: e.CIBA_NATS_USER, password: e.CIBA_NATS_PASSWORD };
  }
  if (e.CIBA_NATS_TOKEN !== undefined) return { kind: 'token', token: e.CIBA_NATS_TOKEN };
  if (e.CIBA_NATS_NKEY_SEED_FILE !== undefined) return { kind: 'nkey', seedFile: e.CIBA_NATS_NKEY_SEED_FILE };
  if (e.CIBA_NATS_CREDS_FILE !== undefined) return { kind: 'creds', credsFile: e.CIBA_NATS_CREDS_FILE };
  return { kind: 'none' };
}

function natsTls(e: Env, problems: string[]): NatsTlsSettings | null {
  if ((e.CIBA_NATS_TLS_CERT_FILE === undefined) !== (e.CIBA_NATS_TLS_KEY_FILE === undefined)) {
    problems.push('CIBA_NATS_TLS_CERT_FILE and CIBA_NATS_TLS_KEY_FILE: set both (mutual TLS) or neither');
  }
  const files = {
    ...(e.CIBA_NATS_TLS_CA_FILE !== undefined ? { caFile: e.CIBA_NATS_TLS_CA_FILE } : {}),
    ...(e.CIBA_NATS_TLS_CERT_FILE !== undefined ? { certFile: e.CIBA_NATS_TLS_CERT_FILE } : {}),
    ...(e.CIBA_NATS_TLS_KEY_FILE !== undefined ? { keyFile: e.CIBA_NATS_TLS_KEY_FILE } : {}),
  };
  return e.CIBA_NATS_TLS || Object.keys(files).length > 0 ? files : null;
}

/**
 * Parse the environment for `service`. `requires` lists the sections the service cannot run without;
 * the all-in-one start fills database and keys itself before calling this.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  service: ServiceName,
  requires: readonly ConfigSection[],
): ProviderConfig {
  // An empty variable is an unset one (manifests often template `VALUE: ""`).
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(present);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const port = e.CIBA_PORT ?? DEFAULT_PORTS[service];
  const issuer = stripSlash(e.CIBA_ISSUER ?? `http://localhost:${port}`);

  if (requires.includes('database') && !e.CIBA_DATABASE_URL) problems.push('CIBA_DATABASE_URL: required (postgres://user@host:5432/db)');
  if (requires.includes('keys')) {
    if (!e.CIBA_KEY_ENCRYPTION_KEY) problems.push('CIBA_KEY_ENCRYPTION_KEY: required (32 random bytes, base64)');
    else if (decodedLength(e.CIBA_KEY_ENCRYPTION_KEY) !== 32) problems.push('CIBA_KEY_ENCRYPTION_KEY: must decode to exactly 32 bytes (base64 or base64url)');
  }
  if (e.CIBA_PAIRWISE_SUBJECT_KEY !== undefined && (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(e.CIBA_PAIRWISE_SUBJECT_KEY) || decodedLength(e.CIBA_PAIRWISE_SUBJECT_KEY) !== 32)) {
    problems.push('CIBA_PAIRWISE_SUBJECT_KEY: must decode to exactly 32 bytes (base64 or base64url)');
  }
  if (e.CIBA_AUDIT_HMAC_KEY !== undefined && (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(e.CIBA_AUDIT_HMAC_KEY) || decodedLength(e.CIBA_AUDIT_HMAC_KEY) !== 32)) {
    problems.push('CIBA_AUDIT_HMAC_KEY: must decode to exactly 32 bytes (base64 or base64url)');
  }
  if (e.CIBA_MIN_EXPIRES_IN > e.CIBA_DEFAULT_EXPIRES_IN || e.CIBA_DEFAULT_EXPIRES_IN > e.CIBA_MAX_EXPIRES_IN) {
    problems.push('CIBA_MIN_EXPIRES_IN <= CIBA_DEFAULT_EXPIRES_IN <= CIBA_MAX_EXPIRES_IN must hold');
  }
  if (e.CIBA_METRICS_PORT !== undefined && e.CIBA_METRICS_PORT === port) {
    problems.push('CIBA_METRICS_PORT: must differ from the service port (unset it to serve /metrics on the service port)');
  }
  if (e.CIBA_BINDING_MESSAGE_PATTERN !== undefined) {
    try {
      new RegExp(e.CIBA_BINDING_MESSAGE_PATTERN, 'u');
    } catch {
      problems.push('CIBA_BINDING_MESSAGE_PATTERN: not a valid regular expression');
    }
  }
  const modes = words(e.CIBA_DELIVERY_MODES);
  const badModes = modes.filter((m) => !(TOKEN_DELIVERY_MODES as readonly string[]).includes(m));
  if (badModes.length > 0 || modes.length === 0) problems.push(`CIBA_DELIVERY_MODES: expected some of ${TOKEN_DELIVERY_MODES.join(', ')}`);
  const preference = e.CIBA_CHANNEL_PREFERENCE.split(/[\s,]+/).filter(Boolean);
  const badChannels = preference.filter((c) => !(NOTIFICATION_CHANNELS as readonly string[]).includes(c));
  if (badChannels.length > 0 || preference.length === 0 || new Set(preference).size !== preference.length) {
    problems.push(`CIBA_CHANNEL_PREFERENCE: expected distinct channels among ${NOTIFICATION_CHANNELS.join(', ')}`);
  }
  const passkeyAcrValues = e.CIBA_PASSKEY_ACR_VALUES.trim() === 'none' ? [] : words(e.CIBA_PASSKEY_ACR_VALUES);
  if (passkeyAcrValues.length === 0 && e.CIBA_PASSKEY_ACR_VALUES.trim() !== 'none') {
    problems.push('CIBA_PASSKEY_ACR_VALUES: expected space-separated ACR values, or none');
  }
  const signingAlgs = parseSigningAlgs(e.CIBA_SIGNING_ALGS, e.CIBA_SIGNING_ALG, problems);
  const scopes = words(e.CIBA_SCOPES);
  if (!scopes.includes('openid')) problems.push('CIBA_SCOPES: must include openid');
  problems.push(...limitProblems(present, e));
  const natsAuthSettings = natsAuth(e, problems);
  const natsTlsSettings = natsTls(e, problems);
  const registration = registrationSettings(e.CIBA_REGISTRATION_INITIAL_ACCESS_TOKEN, problems);
  const hints = hintConfig(present, issuer, problems);
  const mtlsSettings = mtls(e, problems);
  const trustProxySetting = trustProxy(e.CIBA_TRUST_PROXY, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const notifierUrl = stripSlash(e.CIBA_NOTIFIER_URL ?? issuer);

  return {
    service,
    issuer,
    http: { host: e.CIBA_HOST, port, trustProxy: trustProxySetting },
    metrics: { port: e.CIBA_METRICS_PORT ?? null },
    publicUrls: {
      authorize: stripSlash(e.CIBA_AUTHORIZE_URL ?? issuer),
      token: stripSlash(e.CIBA_TOKEN_URL ?? issuer),
      notifier: notifierUrl,
    },
    database: {
      url: e.CIBA_DATABASE_URL ?? '',
      poolSize: e.CIBA_DATABASE_POOL_SIZE,
      connectTimeoutMs: e.CIBA_DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: e.CIBA_DATABASE_STATEMENT_TIMEOUT_MS,
    },
    readinessTimeoutMs: e.CIBA_READINESS_TIMEOUT_MS,
    nats: {
      servers: e.CIBA_NATS_SERVERS.split(',').map((s) => s.trim()).filter(Boolean),
      prefix: e.CIBA_BUS_PREFIX ?? null,
      concurrency: e.CIBA_BUS_CONCURRENCY,
      streamReplicas: e.CIBA_NATS_STREAM_REPLICAS,
      ensureStreams: e.CIBA_NATS_ENSURE_STREAMS,
      auth: natsAuthSettings,
      tls: natsTlsSettings,
      connectTimeoutMs: e.CIBA_NATS_CONNECT_TIMEOUT_MS,
    },
    keys: { encryptionKey: e.CIBA_KEY_ENCRYPTION_KEY ?? '', signingAlg: signingAlgs[0], signingAlgs, rotationDays: e.CIBA_SIGNING_KEY_ROTATION_DAYS, pairwiseSubjectKey: e.CIBA_PAIRWISE_SUBJECT_KEY ?? null, auditHintKey: e.CIBA_AUDIT_HMAC_KEY ?? null },
    bootstrapFile: e.CIBA_BOOTSTRAP_FILE ?? null,
    ciba: {
      deliveryModes: modes as ProviderConfig['ciba']['deliveryModes'],
      defaultExpiresIn: e.CIBA_DEFAULT_EXPIRES_IN,
      minExpiresIn: e.CIBA_MIN_EXPIRES_IN,
      maxExpiresIn: e.CIBA_MAX_EXPIRES_IN,
      interval: e.CIBA_POLL_INTERVAL,
      bindingMessage: { pattern: e.CIBA_BINDING_MESSAGE_PATTERN ?? null, maxLength: e.CIBA_BINDING_MESSAGE_MAX_LENGTH },
      scopes,
    },
    tokens: { accessTokenTtl: e.CIBA_ACCESS_TOKEN_TTL, idTokenTtl: e.CIBA_ID_TOKEN_TTL, refreshTokenTtl: e.CIBA_REFRESH_TOKEN_TTL },
    authChannel: { uri: e.CIBA_AUTH_CHANNEL_URI ?? null, timeoutMs: e.CIBA_AUTH_CHANNEL_TIMEOUT_MS },
    notifications: {
      preference: preference as NotificationChannel[],
      promptLimits: promptLimits(e),
      enrolmentLinkTtl: e.CIBA_ENROLMENT_LINK_TTL,
    },
    devices: { idTokenMaxAge: e.CIBA_DEVICE_ID_TOKEN_MAX_AGE, registrationTtl: e.CIBA_DEVICE_REGISTRATION_TTL },
    stepUp: { passkeyAcrValues, relyingParty: webAuthnRelyingParty(notifierUrl) },
    callbacks: {
      pingOnExpiry: e.CIBA_PING_ON_EXPIRY,
      allowHttpLoopback: e.CIBA_CALLBACK_ALLOW_HTTP_LOOPBACK,
      allowedCidrs: words(e.CIBA_CALLBACK_ALLOWED_CIDRS),
      connectTimeoutMs: e.CIBA_CALLBACK_CONNECT_TIMEOUT_MS,
      responseTimeoutMs: e.CIBA_CALLBACK_RESPONSE_TIMEOUT_MS,
      maxAttempts: e.CIBA_CALLBACK_MAX_ATTEMPTS,
      ackWaitMs: e.CIBA_CALLBACK_ACK_WAIT_MS,
      caFile: e.CIBA_CALLBACK_CA_FILE ?? null,
    },
    sweeper: { intervalMs: e.CIBA_SWEEP_INTERVAL_MS, renotifyAfterMs: e.CIBA_RENOTIFY_AFTER_MS, republishAfterMs: e.CIBA_REPUBLISH_AFTER_MS },
    clientAuth: clientAuthLimits(e),
    userCode: userCodeLimits(e),
    registration,
    hints,
    log: { level: e.CIBA_LOG_LEVEL },
    shutdownTimeoutMs: e.CIBA_SHUTDOWN_TIMEOUT_MS,
    mtls: mtlsSettings,
    dpop: { iatWindowSeconds: e.CIBA_DPOP_IAT_WINDOW, nonceRequired: e.CIBA_DPOP_NONCE_REQUIRED, nonceLifetimeSeconds: e.CIBA_DPOP_NONCE_LIFETIME },
    auditCheckpoints: { every: e.CIBA_AUDIT_CHECKPOINT_EVERY, seconds: e.CIBA_AUDIT_CHECKPOINT_SECONDS },
    auditRetention: { days: e.CIBA_AUDIT_RETENTION_DAYS, intervalSeconds: e.CIBA_AUDIT_PRUNE_INTERVAL_SECONDS },
  };
}

/**
 * The certificate header is believed only from the proxies that set it: without
 * CIBA_MTLS_TRUSTED_PROXIES anyone reaching the service could claim any certificate.
 */
function mtls(e: Env, problems: string[]): MtlsSettings | null {
  if (e.CIBA_MTLS_CLIENT_CERT_HEADER === undefined) {
    if (e.CIBA_MTLS_TRUSTED_PROXIES !== undefined || e.CIBA_MTLS_CLIENT_CERT_VERIFY_HEADER !== undefined) {
      problems.push('CIBA_MTLS_TRUSTED_PROXIES / CIBA_MTLS_CLIENT_CERT_VERIFY_HEADER: set CIBA_MTLS_CLIENT_CERT_HEADER too');
    }
    return null;
  }
  const trustedProxies = words(e.CIBA_MTLS_TRUSTED_PROXIES ?? '');
  if (trustedProxies.length === 0) problems.push('CIBA_MTLS_TRUSTED_PROXIES: required with CIBA_MTLS_CLIENT_CERT_HEADER (the proxies\' addresses, CIDRs)');
  const badCidrs = trustedProxies.filter((cidr) => !isCidr(cidr));
  if (badCidrs.length > 0) problems.push(`CIBA_MTLS_TRUSTED_PROXIES: not CIDRs: ${badCidrs.join(' ')}`);
  return {
    certHeader: e.CIBA_MTLS_CLIENT_CERT_HEADER.toLowerCase(),
    encoding: e.CIBA_MTLS_CLIENT_CERT_ENCODING,
    trustedProxies,
    verifyHeader: e.CIBA_MTLS_CLIENT_CERT_VERIFY_HEADER?.toLowerCase() ?? null,
  };
}

/** Express's `trust proxy` value: false, true, a hop count, or the trusted proxies' CIDRs. */
export type TrustProxy = boolean | number | readonly string[];

/**
 * CIBA_TRUST_PROXY: `false`/`0` (default), `true`, a hop count 1–10 (the address is the one that many
 * proxies back: with one ingress, the address it saw, whatever the client wrote into the header),
 * or the proxies' addresses as CIDRs (the address is the right-most one not among them).
 */
function trustProxy(value: string, problems: string[]): TrustProxy {
  const v = value.trim();
  if (v === 'false' || v === '0' || v === '') return false;
  if (v === 'true') return true;
  if (/^[0-9]+$/.test(v)) {
    const hops = Number(v);
    if (hops >= 1 && hops <= 10) return hops;
    problems.push('CIBA_TRUST_PROXY: a number of proxy hops must be 1–10');
    return false;
  }
  const cidrs = words(v);
  const bad = cidrs.filter((cidr) => !isCidr(cidr));
  if (bad.length > 0) problems.push(`CIBA_TRUST_PROXY: false, true, a hop count (1–10) or the proxies' CIDRs; not CIDRs: ${bad.join(' ')}`);
  return bad.length > 0 ? false : cidrs;
}

function isCidr(cidr: string): boolean {
  const [address, bits, extra] = cidr.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined || bits === undefined || !/^[0-9]{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/** Longest time any token this provider signs stays valid: how long a retired key must stay published. */
export function maxTokenLifetime(config: ProviderConfig): number {
  return Math.max(config.tokens.accessTokenTtl, config.tokens.idTokenTtl);
}

function words(s: string): string[] {
  return s.split(/[\s,]+/).filter(Boolean);
}

function stripSlash(u: string): string {
  return u.endsWith('/') ? u.slice(0, -1) : u;
}

function decodedLength(key: string): number {
  return Buffer.from(key.replace(/-/g, '+').replace(/_/g, '/'), 'base64').length;
}
