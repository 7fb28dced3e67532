import { createHmac } from 'node:crypto';
import { derivedKey } from './key-encryption.js';

/** HKDF `info` of the pairwise key: a new version changes every pairwise identifier. */
const PAIRWISE_KEY_INFO = 'ciba pairwise sub v1';

/**
 * Pairwise subject identifiers (OpenID Connect Core 1.0 §8.1):
 * `base64url(HMAC-SHA256(k, sector_identifier ‖ 0x00 ‖ local sub))`, 43 characters, the same for
 * every client of a sector and unrelated across sectors (§17.3). The 0x00 separator keeps the input
 * unambiguous (neither a host nor a client id holds one). Without `k` nobody, the database's readers
 * included, can link a pairwise identifier to the user or to another sector's identifier; the
 * provider keeps the way back (pairwise → local) in a table it fills as it issues them.
 *
 * `k` is derived (HKDF-SHA256) from `CIBA_PAIRWISE_SUBJECT_KEY`, or from `CIBA_KEY_ENCRYPTION_KEY`
 * when that is not set. Changing the key in use changes every pairwise identifier: clients then see
 * their users as new ones. Keep the key for the life of the deployment.
 */
export class PairwiseSubjects {
  private readonly key: Buffer;

  /** @param encodedKey 32 random bytes, base64 or base64url. */
  constructor(encodedKey: string) {
    this.key = derivedKey(encodedKey, PAIRWISE_KEY_INFO);
  }

  /** The pairwise `sub` of the user `localSub` for the sector `sectorIdentifier`; the same every time. */
  subject(sectorIdentifier: string, localSub: string): string {
    if (sectorIdentifier === '' || localSub === '') throw new Error('a pairwise subject needs a sector identifier and a subject');
    return createHmac('sha256', this.key).update(sectorIdentifier, 'utf8').update(Buffer.of(0)).update(localSub, 'utf8').digest('base64url');
  }
}
