import { readFileSync } from 'node:fs';
import { z } from 'zod';

export interface SmtpEmailChannelOptions {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS from the first byte (usually port 465). */
  readonly secure: boolean;
  /** Insist on STARTTLS (RFC 3207) and fail rather than send in plaintext. */
  readonly requireTls: boolean;
  /** Do not attempt STARTTLS even when offered (local relays only); contradicts requireTls. */
  readonly ignoreTls?: boolean;
  readonly auth?: { readonly user: string; readonly pass: string };
  /** Envelope and header sender, e.g. `"Example ID" <no-reply@example.com>`. */
  readonly from: string;
  readonly tls?: { readonly ca?: string | Buffer; readonly rejectUnauthorized?: boolean };
  readonly connectionTimeoutMs?: number;
  readonly greetingTimeoutMs?: number;
  readonly socketTimeoutMs?: number;
  readonly pool?: boolean;
  readonly productName?: string;
}

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const noLineBreaks = (value: string) => !/[\r\n]/.test(value);

/** The SMTP settings as they arrive from the environment (strings), validated and typed. */
export const smtpEmailConfigSchema = z
  .object({
    host: z.string({ error: 'is required' }).trim().min(1, { error: 'is required' }),
    port: z.coerce.number({ error: 'must be a port number' }).int({ error: 'must be a port number' }).min(1, { error: 'must be a port number' }).max(65535, { error: 'must be a port number' }).optional(),
    secure: flag.default(false),
    requireTls: flag.default(true),
    user: z.string().min(1, { error: 'must not be empty' }).optional(),
    password: z.string().min(1, { error: 'must not be empty' }).optional(),
    from: z
      .string({ error: 'is required' })
      .min(3, { error: 'is required' })
      .refine(noLineBreaks, { error: 'must be a single line' })
      .refine((value) => value.includes('@'), { error: 'must contain an address' }),
    caFile: z.string().min(1, { error: 'must not be empty' }).optional(),
  })
  .refine((c) => (c.user === undefined) === (c.password === undefined), { error: 'user and password must be set together', path: ['password'] });

export type SmtpEmailConfig = z.infer<typeof smtpEmailConfigSchema>;

const ENV_NAMES = {
  host: 'CIBA_SMTP_HOST',
  port: 'CIBA_SMTP_PORT',
  secure: 'CIBA_SMTP_SECURE',
  requireTls: 'CIBA_SMTP_REQUIRE_TLS',
  user: 'CIBA_SMTP_USER',
  password: 'CIBA_SMTP_PASSWORD',
  from: 'CIBA_SMTP_FROM',
  caFile: 'CIBA_SMTP_CA_FILE',
} as const satisfies Record<keyof SmtpEmailConfig, string>;

/**
 * Reads `CIBA_SMTP_*` once at boot and fails fast. Error messages name the variable and the rule only,
 * never a value, so the password cannot end up in a crash log.
 */
export function smtpEmailOptionsFromEnv(env: Readonly<Record<string, string | undefined>>, extra: { readonly productName?: string } = {}): SmtpEmailChannelOptions {
  const raw = Object.fromEntries(Object.entries(ENV_NAMES).map(([key, name]) => [key, blankToUndefined(env[name])]));
  const parsed = smtpEmailConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path[0] as keyof SmtpEmailConfig | undefined;
      return `${key ? ENV_NAMES[key] : 'CIBA_SMTP_*'} ${issue.message}`;
    });
    throw new Error(`Invalid SMTP configuration: ${problems.join('; ')}`);
  }
  const config = parsed.data;
  let ca: Buffer | undefined;
  if (config.caFile) {
    try {
      ca = readFileSync(config.caFile);
    } catch {
      throw new Error(`Invalid SMTP configuration: ${ENV_NAMES.caFile} cannot be read`);
    }
  }
  return {
    host: config.host,
    port: config.port ?? (config.secure ? 465 : 587),
    secure: config.secure,
    requireTls: config.requireTls,
    from: config.from,
    ...(config.user !== undefined && config.password !== undefined ? { auth: { user: config.user, pass: config.password } } : {}),
    ...(ca ? { tls: { ca } } : {}),
    ...(extra.productName ? { productName: extra.productName } : {}),
  };
}

function blankToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
