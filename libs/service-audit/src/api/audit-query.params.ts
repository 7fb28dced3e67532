import { z } from 'zod';
import type { EvidenceDecisionFilter } from '@ciba/domain';
import { type FormParams, invalidRequest } from '@ciba/protocol';
import { CURSOR_MAX_LENGTH } from './audit-cursor.js';

/** `GET|POST /audit/records`: records per page unless `limit` says otherwise, and the most it may say. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 500;
/**
 * `GET|POST /audit/export`: the most records one export streams (its `limit` may ask for fewer).
 * An export that stops here ends with a `{"next_cursor": …}` line to continue from.
 */
export const MAX_EXPORT_RECORDS = 100_000;

/** Parameters that authenticate the caller (RFC 6749 §2.3.1, RFC 7521 §4.2), not filters. */
export const CREDENTIAL_PARAMETERS: ReadonlySet<string> = new Set(['client_secret', 'client_assertion', 'client_assertion_type']);

/** What the audit API filters on, normalized; `undefined`: not filtered. */
export interface AuditFilters {
  readonly authReqId?: string;
  readonly clientId?: string;
  readonly userHintHash?: string;
  readonly subject?: string;
  readonly decision?: EvidenceDecisionFilter;
  readonly from?: Date;
  readonly to?: Date;
}

export interface AuditQuery {
  readonly filters: AuditFilters;
  readonly limit: number;
  readonly cursor?: string;
}

const identifier = z.string().max(255);
/** ISO 8601 with an explicit offset (`Z`, `+02:00`), or a date (midnight UTC). */
const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()]).transform((value) => new Date(value.length === 10 ? `${value}T00:00:00Z` : value))
  .refine((date) => !Number.isNaN(date.getTime()));
const count = (max: number) =>
  z
    .string()
    .regex(/^[0-9]{1,7}$/)
    .transform(Number)
    .pipe(z.number().int().min(1).max(max));

const filterSchema = (maxLimit: number) =>
  z.strictObject({
    auth_req_id: z.string().max(256).optional(),
    client_id: identifier.optional(),
    user_hint_hash: z.string().max(256).optional(),
    sub: identifier.optional(),
    decision: z.enum(['approved', 'denied', 'expired', 'pending'], 'must be approved, denied, expired or pending').optional(),
    from: instant.optional(),
    to: instant.optional(),
    limit: count(maxLimit).optional(),
    cursor: z.string().max(CURSOR_MAX_LENGTH).optional(),
  });

/**
 * The filters of an audit request. `params` hold the filters only (the caller's credentials taken
 * out, see `AuditApiController`). Every filter is checked before anything is read: an unknown
 * parameter is refused rather than ignored, since a misspelt filter would otherwise widen the
 * query to every record. Descriptions name the parameter, never echo its value.
 */
export function parseAuditQuery(params: FormParams, kind: 'page' | 'export'): AuditQuery {
  const maxLimit = kind === 'page' ? MAX_PAGE_LIMIT : MAX_EXPORT_RECORDS;
  const input = Object.fromEntries(params.names().map((name) => [name, params.get(name)]));
  const parsed = filterSchema(maxLimit).safeParse(input);
  if (!parsed.success) throw invalidRequest(describe(parsed.error.issues[0], maxLimit));
  const p = parsed.data;
  if (p.from && p.to && p.from > p.to) throw invalidRequest('from must not be after to');
  const filters: AuditFilters = {
    ...(p.auth_req_id !== undefined ? { authReqId: p.auth_req_id } : {}),
    ...(p.client_id !== undefined ? { clientId: p.client_id } : {}),
    ...(p.user_hint_hash !== undefined ? { userHintHash: p.user_hint_hash } : {}),
    ...(p.sub !== undefined ? { subject: p.sub } : {}),
    ...(p.decision !== undefined ? { decision: p.decision } : {}),
    ...(p.from !== undefined ? { from: p.from } : {}),
    ...(p.to !== undefined ? { to: p.to } : {}),
  };
  return { filters, limit: p.limit ?? (kind === 'page' ? DEFAULT_PAGE_LIMIT : MAX_EXPORT_RECORDS), ...(p.cursor !== undefined ? { cursor: p.cursor } : {}) };
}

/** The filters in a fixed order and form, which a cursor is bound to (`AuditCursors`). */
export function filtersFingerprint(filters: AuditFilters): string {
  return JSON.stringify([
    filters.authReqId ?? null,
    filters.clientId ?? null,
    filters.userHintHash ?? null,
    filters.subject ?? null,
    filters.decision ?? null,
    filters.from?.toISOString() ?? null,
    filters.to?.toISOString() ?? null,
  ]);
}

function describe(issue: z.core.$ZodIssue | undefined, maxLimit: number): string {
  if (issue === undefined) return 'the filters are invalid';
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.filter((key) => /^[\w.:-]{1,64}$/.test(key));
    return names.length > 0 ? `unknown parameter ${names.join(', ')}` : 'unknown parameter';
  }
  const name = String(issue.path[0] ?? 'filters');
  if (name === 'limit') return `parameter limit must be a whole number from 1 to ${maxLimit}`;
  if (name === 'from' || name === 'to') return `parameter ${name} must be an ISO 8601 date-time with an offset, or a date`;
  if (issue.code === 'too_big') return `parameter ${name} is too long`;
  return `parameter ${name} ${issue.message}`;
}
