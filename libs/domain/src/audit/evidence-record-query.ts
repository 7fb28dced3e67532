/**
 * Reading evidence records back (the audit API): by filters, newest first, a page at a time. Pages
 * follow a keyset on (requested_at, request_id), never an offset, so a page costs the same however
 * deep into the table it starts, and records appended meanwhile neither repeat nor skip a record.
 */

/** `pending`: no decision yet (neither an answer nor an expiry). */
export type EvidenceDecisionFilter = 'approved' | 'denied' | 'expired' | 'pending';

/** Every filter narrows (AND); an absent one does not filter. */
export interface EvidenceRecordFilter {
  readonly requestId?: string;
  readonly clientId?: string;
  readonly userHintHash?: string;
  readonly subject?: string;
  readonly decision?: EvidenceDecisionFilter;
  /** requested_at at or after. */
  readonly from?: Date;
  /** requested_at at or before. */
  readonly to?: Date;
}

/**
 * Where a page ends: the last record's requested_at as PostgreSQL's own text (microseconds kept,
 * which a JavaScript `Date` would round away) and its request id. A record whose requested_at is not
 * known yet (its request event not merged) sorts before every dated one.
 */
export interface EvidenceRecordPosition {
  readonly requestedAt: string | null;
  readonly requestId: string;
}

/**
 * One evidence record as the audit API shows it: the columns of `audit_evidence_records` under their
 * own (snake_case) names, timestamps as ISO 8601 strings; the write counter `revision` is left out.
 */
export interface EvidenceRecordDocument {
  readonly request_id: string;
  readonly client_id: string;
  readonly subject: string;
  readonly issuer: string | null;
  readonly backchannel_endpoint: string | null;
  readonly delivery_mode: string | null;
  readonly scope: readonly string[] | null;
  readonly acr_values: readonly string[] | null;
  readonly hint_type: string | null;
  readonly user_hint_hash: string | null;
  readonly binding_message: string | null;
  readonly authorization_details_types: readonly string[] | null;
  readonly requested_at: string | null;
  readonly expires_at: string | null;
  readonly expires_in: number | null;
  readonly interval: number | null;
  readonly correlation_id: string | null;
  readonly channels: readonly unknown[];
  readonly callbacks: readonly unknown[];
  readonly callback_attempts: readonly unknown[];
  readonly decision: string | null;
  readonly decided_at: string | null;
  readonly denial_reason: string | null;
  readonly denial_limit: string | null;
  readonly acr: string | null;
  readonly amr: readonly string[] | null;
  readonly tokens_issued: readonly string[] | null;
  readonly redeemed_at: string | null;
  readonly token_outcome: string | null;
  /** The `jti` of every access token issued for the request (identifiers, never the tokens). */
  readonly access_token_jtis: readonly string[];
  readonly downstream: readonly unknown[] | Readonly<Record<string, unknown>> | null;
  readonly event_ids: readonly string[];
  readonly updated_at: string;
}

export interface EvidenceRecordPage {
  readonly records: readonly EvidenceRecordDocument[];
  /** Where the next page starts; null when this page is the last. */
  readonly next: EvidenceRecordPosition | null;
}

export interface EvidenceRecordQuery {
  /** At most `limit` records matching `filter`, newest first, after `after` (from the newest when null). */
  page(filter: EvidenceRecordFilter, after: EvidenceRecordPosition | null, limit: number): Promise<EvidenceRecordPage>;
}
