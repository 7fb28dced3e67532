import { z } from 'zod';
import { ConfigError } from '@ciba/config';

/** The gateway's port when `CIBA_PORT` is unset (the provider's services use 3000–3005). */
export const DEFAULT_GATEWAY_PORT = 3006;

const env = z.object({
  CIBA_GATEWAY_POLICY: z.string().min(1).optional(),
  CIBA_DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  CIBA_KEY_ENCRYPTION_KEY: z.string().optional(),
  CIBA_HOST: z.string().min(1).default('0.0.0.0'),
  CIBA_PORT: z.coerce.number().int().min(0).max(65535).default(DEFAULT_GATEWAY_PORT),
  CIBA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CIBA_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  CIBA_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** How often each replica looks for approvals due for a poll. */
  CIBA_GATEWAY_POLL_TICK_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  /** Allow plain-http provider endpoints (a provider on loopback during development). */
  CIBA_GATEWAY_ALLOW_HTTP_PROVIDER: z.enum(['true', 'false']).default('false'),
});

export interface GatewayConfig {
  readonly policyFile: string;
  readonly databaseUrl: string;
  readonly encryptionKey: string;
  readonly host: string;
  readonly port: number;
  readonly logLevel: string;
  readonly poolSize: number;
  readonly shutdownTimeoutMs: number;
  readonly pollTickMs: number;
  readonly allowHttpProvider: boolean;
}

/** The gateway's settings from the environment; every problem names its variable, never its value. */
export function loadGatewayConfig(environment: Readonly<Record<string, string | undefined>>): GatewayConfig {
  const present = Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = env.safeParse(present);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  const e = parsed.data;
  const problems: string[] = [];
  if (!e.CIBA_GATEWAY_POLICY) problems.push('CIBA_GATEWAY_POLICY: required (the policy file, JSON or YAML)');
  if (!e.CIBA_DATABASE_URL) problems.push('CIBA_DATABASE_URL: required (postgres://user@host:5432/db)');
  const key = e.CIBA_KEY_ENCRYPTION_KEY;
  if (!key) problems.push('CIBA_KEY_ENCRYPTION_KEY: required (32 random bytes, base64); it seals the tokens the gateway keeps');
  else if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(key) || Buffer.from(key, 'base64').length !== 32) {
    problems.push('CIBA_KEY_ENCRYPTION_KEY: must decode to exactly 32 bytes (base64 or base64url)');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    policyFile: e.CIBA_GATEWAY_POLICY ?? '',
    databaseUrl: e.CIBA_DATABASE_URL ?? '',
    encryptionKey: key ?? '',
    host: e.CIBA_HOST,
    port: e.CIBA_PORT,
    logLevel: e.CIBA_LOG_LEVEL,
    poolSize: e.CIBA_DATABASE_POOL_SIZE,
    shutdownTimeoutMs: e.CIBA_SHUTDOWN_TIMEOUT_MS,
    pollTickMs: e.CIBA_GATEWAY_POLL_TICK_MS,
    allowHttpProvider: e.CIBA_GATEWAY_ALLOW_HTTP_PROVIDER === 'true',
  };
}
