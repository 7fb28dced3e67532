import { createHmac, timingSafeEqual } from 'node:crypto';
import { derivedKey } from './key-encryption.js';

const REQUEST_ID_BYTES = 16;
/** base64url of 16 + 32 bytes: exactly 64 characters, no padding, one spelling per value. */
const AUTH_REQ_ID = /^[A-Za-z0-9_-]{64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * CIBA §7.3 auth_req_id as a MAC'd reference to the request:
 * `base64url(requestId ‖ HMAC-SHA256(k, requestId ‖ clientId))`, k derived from the key-encryption
 * key. Nothing about it is stored, so a reader of the database (a backup, a replica) learns no
 * handle a client could redeem; the token endpoint checks the MAC before any lookup, so a forged
 * handle costs no database or cache call. Binding the client id means another client's handle
 * fails the MAC too (lookups stay scoped to the client as well). It cannot be guessed: 256 bits of
 * MAC, beyond the 160 bits §7.3 recommends. Changing the key-encryption key invalidates handles
 * outstanding at that moment (requests live minutes).
 */
export class AuthReqIds {
  private readonly key: Buffer;

  constructor(keyEncryptionKey: string) {
    this.key = derivedKey(keyEncryptionKey, 'ciba auth_req_id v1');
  }

  /** The auth_req_id handed to `clientId` for the request `requestId` (a UUID); the same every time. */
  issue(requestId: string, clientId: string): string {
    if (!UUID.test(requestId)) throw new Error('an auth_req_id refers to a request id that is a UUID');
    const id = Buffer.from(requestId.replaceAll('-', ''), 'hex');
    return Buffer.concat([id, this.mac(id, clientId)]).toString('base64url');
  }

  /**
   * The request id `authReqId` refers to, when this provider issued it to `clientId`; null for
   * anything else (malformed, forged, another client's). The MAC is compared in constant time.
   */
  verify(authReqId: string, clientId: string): string | null {
    if (!AUTH_REQ_ID.test(authReqId)) return null;
    const decoded = Buffer.from(authReqId, 'base64url');
    const id = decoded.subarray(0, REQUEST_ID_BYTES);
    if (!timingSafeEqual(decoded.subarray(REQUEST_ID_BYTES), this.mac(id, clientId))) return null;
    const hex = id.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  private mac(requestId: Buffer, clientId: string): Buffer {
    // The request id has a fixed length, so request id ‖ client id is unambiguous.
    return createHmac('sha256', this.key).update(requestId).update(clientId, 'utf8').digest();
  }
}
