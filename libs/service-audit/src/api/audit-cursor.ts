import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EvidenceRecordPosition } from '@ciba/domain';
import { invalidRequest } from '@ciba/protocol';
import { derivedKey } from '@ciba/tokens';

/** HKDF `info` of the cursor key: a new version invalidates every cursor handed out. */
const CURSOR_KEY_INFO = 'ciba audit cursor v1';
const MAC_BYTES = 16;
/** Far more than a position needs (a timestamp and a UUID); anything longer is not one of ours. */
export const CURSOR_MAX_LENGTH = 512;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** PostgreSQL's UTC text of `requested_at` (see persistence `TypeOrmEvidenceRecordQuery`). */
const POSITION_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/**
 * The opaque `next_cursor` of the audit API: `base64url(MAC ‖ position)`, the MAC (HMAC-SHA256 under
 * a key derived from the key-encryption key, so every replica accepts every other's cursors) taken
 * over the position and the query's filters. A cursor edited by hand, cut short, or carried over to
 * other filters is refused as `invalid_request` rather than read as some other position: a
 * mistyped continuation must not silently skip or repeat records. The position itself is no
 * secret (a time and a request id the page already showed); the MAC is for integrity only.
 */
export class AuditCursors {
  private readonly key: Buffer;

  constructor(keyEncryptionKey: string) {
    this.key = derivedKey(keyEncryptionKey, CURSOR_KEY_INFO);
  }

  /** `filters`: the query's normalized filters (limit and cursor aside), in a fixed order. */
  seal(position: EvidenceRecordPosition, filters: string): string {
    const payload = Buffer.from(JSON.stringify([position.requestedAt, position.requestId]), 'utf8');
    return Buffer.concat([this.mac(payload, filters), payload]).toString('base64url');
  }

  open(cursor: string, filters: string): EvidenceRecordPosition {
    const refused = () => invalidRequest('cursor is not a cursor this API returned for these filters');
    if (cursor.length > CURSOR_MAX_LENGTH || !BASE64URL.test(cursor)) throw refused();
    const bytes = Buffer.from(cursor, 'base64url');
    // base64url has one spelling per value here: a re-encoding that differs was altered.
    if (bytes.length <= MAC_BYTES || bytes.toString('base64url') !== cursor) throw refused();
    const payload = bytes.subarray(MAC_BYTES);
    if (!timingSafeEqual(bytes.subarray(0, MAC_BYTES), this.mac(payload, filters))) throw refused();
    let position: unknown;
    try {
      position = JSON.parse(payload.toString('utf8'));
    } catch {
      throw refused();
    }
    if (!Array.isArray(position) || position.length !== 2) throw refused();
    const [requestedAt, requestId] = position as unknown[];
    if (!(requestedAt === null || (typeof requestedAt === 'string' && POSITION_TIME.test(requestedAt)))) throw refused();
    if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 128) throw refused();
    return { requestedAt, requestId };
  }

  private mac(payload: Buffer, filters: string): Buffer {
    return createHmac('sha256', this.key).update(filters, 'utf8').update(Buffer.of(0)).update(payload).digest().subarray(0, MAC_BYTES);
  }
}
