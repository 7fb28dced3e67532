import { z } from 'zod';
import { SIGNING_ALGS, type SigningAlg, publicJwkSetProblem } from '@ciba/protocol';
import { LOGIN_HINT_FORMS, type LoginHintForm } from '@ciba/domain';

/**
 * How the provider finds the user a request is for (CIBA §7.1): the login_hint forms it accepts,
 * an optional enterprise directory answering for login_hints, and the issuers whose
 * login_hint_tokens it trusts. Read from `CIBA_LOGIN_HINT_*`.
 */
export interface HintConfig {
  /** The login_hint forms accepted; a hint of another form names nobody (`unknown_user_id`). */
  readonly loginHintForms: readonly LoginHintForm[];
  /** When set, every login_hint is resolved by this directory instead of the local forms. */
  readonly directory: LoginHintDirectoryConfig | null;
  /** Trusted login_hint_token issuers; none: login_hint_token is refused. */
  readonly loginHintTokenIssuers: readonly LoginHintTokenIssuer[];
}

export interface LoginHintDirectoryConfig {
  readonly url: string;
  /** Sent as `Authorization: Bearer …`; null: no credential. Sensitive. */
  readonly token: string | null;
  /** Connect, response headers and body, each. */
  readonly timeoutMs: number;
  /** How long a directory's positive answer is reused; 0: never. */
  readonly cacheSeconds: number;
  /** Private ranges the directory may live in (the outbound SSRF ban applies otherwise). */
  readonly allowedCidrs: readonly string[];
}

/** The claims a login_hint_token may name its subject by, and the login_hint form each is looked up as. */
export const LOGIN_HINT_TOKEN_SUBJECT_CLAIMS = { sub: 'sub', email: 'email', phone_number: 'phone', preferred_username: 'username' } as const satisfies Record<
  string,
  LoginHintForm
>;
export type LoginHintTokenSubjectClaim = keyof typeof LOGIN_HINT_TOKEN_SUBJECT_CLAIMS;

export interface LoginHintTokenIssuer {
  /** The token's `iss`, exactly. */
  readonly issuer: string;
  /** The issuer's public keys: a JWK Set URL (fetched under the outbound policy) or the set itself. */
  readonly keys: { readonly jwksUri: string } | { readonly jwks: { readonly keys: readonly object[] } };
  /** The claim naming the user, looked up as the matching login_hint form. */
  readonly subjectClaim: LoginHintTokenSubjectClaim;
  /** A value the token's `aud` must hold; null: `aud` is not checked. */
  readonly audience: string | null;
  /** Accepted `alg` values: asymmetric only (never `none` or HMAC). */
  readonly algorithms: readonly SigningAlg[];
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const hintEnvSchema = z.object({
  CIBA_LOGIN_HINT_FORMS: z.string().default(LOGIN_HINT_FORMS.join(',')),
  CIBA_LOGIN_HINT_DIRECTORY_URL: z.string().url().regex(/^https?:\/\//i, 'must be an https:// URL').optional(),
  CIBA_LOGIN_HINT_DIRECTORY_TOKEN: z.string().regex(/^[\x21-\x7e]+$/, 'must be a bearer token (visible ASCII, no spaces)').optional(),
  CIBA_LOGIN_HINT_DIRECTORY_TIMEOUT_MS: int(100, 30000).default(3000),
  CIBA_LOGIN_HINT_DIRECTORY_CACHE_SECONDS: int(0, 3600).default(60),
  CIBA_LOGIN_HINT_DIRECTORY_ALLOWED_CIDRS: z.string().default(''),
  CIBA_LOGIN_HINT_TOKEN_ISSUERS: z.string().default('[]'),
});

const issuerSchema = z
  .object({
    issuer: z.string().min(1).max(2048),
    jwks_uri: z.string().url().regex(/^https?:\/\//i, 'must be an https:// URL').optional(),
    jwks: z
      .unknown()
      .superRefine((jwks, ctx) => {
        const problem = publicJwkSetProblem(jwks);
        if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    subject_claim: z.enum(Object.keys(LOGIN_HINT_TOKEN_SUBJECT_CLAIMS) as [LoginHintTokenSubjectClaim, ...LoginHintTokenSubjectClaim[]]).default('sub'),
    /** true: this provider's issuer; a string: that value. */
    audience: z.union([z.literal(true), z.string().min(1)]).optional(),
    algorithms: z.array(z.enum(SIGNING_ALGS)).min(1).optional(),
  })
  .strict()
  .refine((i) => (i.jwks_uri === undefined) !== (i.jwks === undefined), 'set exactly one of jwks_uri and jwks');

/**
 * The hint settings from the (already non-empty) environment; problems are added to `problems`,
 * naming the variable and never echoing a value.
 */
export function hintConfig(env: Readonly<Record<string, string | undefined>>, providerIssuer: string, problems: string[]): HintConfig {
  const parsed = hintEnvSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${issue.path.join('.')}: ${issue.message}`);
    return { loginHintForms: LOGIN_HINT_FORMS, directory: null, loginHintTokenIssuers: [] };
  }
  const e = parsed.data;
  const forms = e.CIBA_LOGIN_HINT_FORMS.split(/[\s,]+/).filter(Boolean);
  const known = (form: string): form is LoginHintForm => (LOGIN_HINT_FORMS as readonly string[]).includes(form);
  if (forms.length === 0 || !forms.every(known) || new Set(forms).size !== forms.length) {
    problems.push(`CIBA_LOGIN_HINT_FORMS: expected distinct forms among ${LOGIN_HINT_FORMS.join(', ')}`);
  }
  const directoryOnly = ['CIBA_LOGIN_HINT_DIRECTORY_TOKEN'].filter((name) => env[name] !== undefined);
  if (e.CIBA_LOGIN_HINT_DIRECTORY_URL === undefined && directoryOnly.length > 0) problems.push(`${directoryOnly.join(', ')}: set CIBA_LOGIN_HINT_DIRECTORY_URL too`);
  return {
    loginHintForms: LOGIN_HINT_FORMS.filter((form) => forms.includes(form)),
    directory:
      e.CIBA_LOGIN_HINT_DIRECTORY_URL === undefined
        ? null
        : {
            url: e.CIBA_LOGIN_HINT_DIRECTORY_URL,
            token: e.CIBA_LOGIN_HINT_DIRECTORY_TOKEN ?? null,
            timeoutMs: e.CIBA_LOGIN_HINT_DIRECTORY_TIMEOUT_MS,
            cacheSeconds: e.CIBA_LOGIN_HINT_DIRECTORY_CACHE_SECONDS,
            allowedCidrs: e.CIBA_LOGIN_HINT_DIRECTORY_ALLOWED_CIDRS.split(/[\s,]+/).filter(Boolean),
          },
    loginHintTokenIssuers: loginHintTokenIssuers(e.CIBA_LOGIN_HINT_TOKEN_ISSUERS, providerIssuer, problems),
  };
}

function loginHintTokenIssuers(json: string, providerIssuer: string, problems: string[]): LoginHintTokenIssuer[] {
  const name = 'CIBA_LOGIN_HINT_TOKEN_ISSUERS';
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    problems.push(`${name}: not valid JSON (expected an array of issuers)`);
    return [];
  }
  const parsed = z.array(issuerSchema).max(50).safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`${name}[${issue.path.join('.')}]: ${issue.message}`);
    return [];
  }
  const issuers = parsed.data.map((i) => i.issuer);
  if (new Set(issuers).size !== issuers.length) problems.push(`${name}: an issuer appears twice`);
  return parsed.data.map((i) => ({
    issuer: i.issuer,
    keys: i.jwks_uri !== undefined ? { jwksUri: i.jwks_uri } : { jwks: i.jwks as { keys: object[] } },
    subjectClaim: i.subject_claim,
    audience: i.audience === true ? providerIssuer : (i.audience ?? null),
    algorithms: i.algorithms ?? [...SIGNING_ALGS],
  }));
}
