/**
 * The request id an auth_req_id refers to: its first 16 bytes (see `AuthReqIds` in the tokens lib),
 * read without checking the MAC. For tests that look at the request's row: the database holds no
 * auth_req_id to search by.
 */
export function requestIdIn(authReqId: string): string {
  const hex = Buffer.from(authReqId, 'base64url').subarray(0, 16).toString('hex');
  if (hex.length !== 32) throw new Error('not an auth_req_id issued by this provider');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
