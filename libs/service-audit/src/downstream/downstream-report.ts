import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { DownstreamReport } from '@ciba/domain';
import { FormParams, invalidRequest } from '@ciba/protocol';

/** The scope a client must be registered with to report downstream outcomes. */
export { AUDIT_REPORT_SCOPE } from '@ciba/protocol';

/** Bounds of a report's fields (characters). */
export const DOWNSTREAM_LIMITS = Object.freeze({ jti: 128, action: 200, resource: 512, reason: 512 });
/** How far ahead of the provider's clock `occurred_at` may be (clock skew), and how far back. */
export const OCCURRED_AT_SKEW_MS = 5 * 60_000;
export const OCCURRED_AT_MAX_AGE_MS = 30 * 24 * 3_600_000;

/** The body fields that carry the reporter's client credentials (client_secret_post, RFC 7523), not the report. */
const CLIENT_AUTH_FIELDS = ['client_id', 'client_secret', 'client_assertion', 'client_assertion_type'] as const;

/** Text shown to people: no control characters (they would forge lines in logs and exports). */
const text = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\u0000-\u001f\u007f]*$/u, 'must not contain control characters');

/**
 * The report, strictly: unknown fields are refused. `jti` is the access token's `jti` claim —
 * base64url, as this provider makes them — never the token: a JWT (with its dots) is refused before
 * it is looked up, kept or logged.
 */
const REPORT = z
  .object({
    jti: z
      .string()
      .min(1)
      .max(DOWNSTREAM_LIMITS.jti)
      .regex(/^[A-Za-z0-9_-]+$/, "must be the access token's jti claim (base64url), not the token"),
    outcome: z.enum(['allowed', 'blocked']),
    action: text(DOWNSTREAM_LIMITS.action),
    resource: text(DOWNSTREAM_LIMITS.resource).optional(),
    reason: text(DOWNSTREAM_LIMITS.reason).optional(),
    occurred_at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

export type DownstreamReportBody = z.infer<typeof REPORT>;

/** A JSON body split into the reporter's credentials (for `ClientAuthenticator`) and the report. */
export interface SplitBody {
  readonly credentials: FormParams;
  readonly report: Readonly<Record<string, unknown>>;
}

export function splitBody(body: unknown): SplitBody {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalidRequest('the request body must be a JSON object');
  const credentials: [string, string][] = [];
  const report: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if ((CLIENT_AUTH_FIELDS as readonly string[]).includes(name)) {
      if (typeof value !== 'string') throw invalidRequest(`${name} must be a string`);
      credentials.push([name, value]);
    } else {
      report[name] = value;
    }
  }
  return { credentials: new FormParams(credentials), report };
}

/**
 * The report validated against the schema and the clock, or `400 invalid_request` naming the first
 * problem (never echoing a value). `occurred_at` defaults to `now`.
 */
export function parseDownstreamReport(report: Readonly<Record<string, unknown>>, reporterClientId: string, now: Date): DownstreamReport {
  const parsed = REPORT.safeParse(report);
  if (!parsed.success) throw invalidRequest(describeIssue(parsed.error.issues[0]));
  const body = parsed.data;
  let occurredAt = now;
  if (body.occurred_at !== undefined) {
    occurredAt = new Date(body.occurred_at);
    if (occurredAt.getTime() > now.getTime() + OCCURRED_AT_SKEW_MS) throw invalidRequest('occurred_at is in the future');
    if (occurredAt.getTime() < now.getTime() - OCCURRED_AT_MAX_AGE_MS) throw invalidRequest('occurred_at is more than 30 days ago');
  }
  return {
    jti: body.jti,
    outcome: body.outcome,
    action: body.action,
    resource: body.resource ?? null,
    reason: body.reason ?? null,
    reporterClientId,
    occurredAt,
  };
}

/**
 * What identifies a report: its fields and reporter. A report sent again with the same
 * `occurred_at` is the same event (the bus's duplicate window and the trail's event id absorb it).
 */
export function reportDigest(report: DownstreamReport): string {
  const fields = [report.jti, report.outcome, report.action, report.resource, report.reason, report.reporterClientId, report.occurredAt.toISOString()];
  return createHash('sha256').update(JSON.stringify(fields), 'utf8').digest('base64url');
}

function describeIssue(issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'the report is invalid';
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.map((key) => key.slice(0, 64)).join(', ')}`.slice(0, 300);
  const field = issue.path.map(String).join('.') || 'the report';
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${field} is required`;
  if (issue.code === 'too_big') return `${field} is longer than ${String(issue.maximum)} characters`;
  if (issue.code === 'too_small') return `${field} must not be empty`;
  if (issue.code === 'invalid_value') return `${field} must be one of: ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'invalid_format' && field === 'occurred_at') return 'occurred_at must be an RFC 3339 date-time with a time zone';
  if (issue.code === 'invalid_format') return `${field} ${issue.message}`;
  return `${field}: ${issue.message}`;
}
