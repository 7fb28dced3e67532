import { Inject, Injectable } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import type { EvidenceRecordDocument, EvidenceRecordFilter, EvidenceRecordPosition, EvidenceRecordQuery } from '@ciba/domain';
import { EVIDENCE_RECORD_QUERY, PROVIDER_CONFIG } from '@ciba/platform';
import { AuthReqIds } from '@ciba/tokens';
import { AuditCursors } from './audit-cursor.js';
import { type AuditFilters, type AuditQuery, filtersFingerprint } from './audit-query.params.js';

/** base64url of the 16 bytes of a request id and its 32-byte MAC (tokens `AuthReqIds`). */
const AUTH_REQ_ID = /^[A-Za-z0-9_-]{64}$/;
const REQUEST_ID_BYTES = 16;

export interface AuditRecordsPage {
  readonly records: readonly EvidenceRecordDocument[];
  readonly next_cursor: string | null;
}

/**
 * Evidence records for the audit API: filters resolved to the store's terms, pages read by keyset,
 * positions handed out as sealed cursors. An `auth_req_id` names its request by the request id it
 * carries, and counts only when its MAC verifies for the record's own client (the handle that
 * client was given); anything else, malformed or forged, matches no record.
 */
@Injectable()
export class AuditRecords {
  private readonly cursors: AuditCursors;

  constructor(
    @Inject(EVIDENCE_RECORD_QUERY) private readonly query: EvidenceRecordQuery,
    private readonly authReqIds: AuthReqIds,
    @Inject(PROVIDER_CONFIG) config: ProviderConfig,
  ) {
    this.cursors = new AuditCursors(config.keys.encryptionKey);
  }

  /** The position `query.cursor` seals; null without one. Throws `invalid_request` for a cursor not ours. */
  start(query: AuditQuery): EvidenceRecordPosition | null {
    return query.cursor === undefined ? null : this.cursors.open(query.cursor, filtersFingerprint(query.filters));
  }

  async page(query: AuditQuery): Promise<AuditRecordsPage> {
    const { records, next } = await this.read(query.filters, this.start(query), query.limit);
    return { records, next_cursor: next === null ? null : this.cursors.seal(next, filtersFingerprint(query.filters)) };
  }

  /** One page from `after`, and where the next starts (null: none). */
  async read(filters: AuditFilters, after: EvidenceRecordPosition | null, limit: number): Promise<{ records: readonly EvidenceRecordDocument[]; next: EvidenceRecordPosition | null }> {
    let requestId: string | undefined;
    if (filters.authReqId !== undefined) {
      requestId = requestIdCarriedBy(filters.authReqId) ?? undefined;
      if (requestId === undefined) return { records: [], next: null };
    }
    const filter: EvidenceRecordFilter = {
      ...(requestId !== undefined ? { requestId } : {}),
      ...(filters.clientId !== undefined ? { clientId: filters.clientId } : {}),
      ...(filters.userHintHash !== undefined ? { userHintHash: filters.userHintHash } : {}),
      ...(filters.subject !== undefined ? { subject: filters.subject } : {}),
      ...(filters.decision !== undefined ? { decision: filters.decision } : {}),
      ...(filters.from !== undefined ? { from: filters.from } : {}),
      ...(filters.to !== undefined ? { to: filters.to } : {}),
    };
    const page = await this.query.page(filter, after, limit);
    if (filters.authReqId === undefined) return page;
    // One request id, one record at most: the page is that record or nothing.
    const authReqId = filters.authReqId;
    return { records: page.records.filter((record) => this.authReqIds.verify(authReqId, record.client_id) === record.request_id), next: null };
  }

  sealCursor(position: EvidenceRecordPosition, filters: AuditFilters): string {
    return this.cursors.seal(position, filtersFingerprint(filters));
  }
}

/** The request id an auth_req_id carries (unverified: its MAC needs the client, checked afterwards); null if it carries none. */
function requestIdCarriedBy(authReqId: string): string | null {
  if (!AUTH_REQ_ID.test(authReqId)) return null;
  const hex = Buffer.from(authReqId, 'base64url').subarray(0, REQUEST_ID_BYTES).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
