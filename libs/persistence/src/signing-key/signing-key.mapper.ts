import type { SigningKeyRecord } from '@ciba/domain';
import type { SigningKeyEntity } from './signing-key.entity.js';

export function toSigningKey(entity: SigningKeyEntity): SigningKeyRecord {
  return {
    kid: entity.kid,
    alg: entity.alg,
    publicJwk: entity.publicJwk,
    encryptedPrivateJwk: entity.encryptedPrivateJwk,
    createdAt: entity.createdAt,
    retiredAt: entity.retiredAt,
    unpublishAfter: entity.unpublishAfter,
  };
}

export function fromSigningKey(record: SigningKeyRecord): SigningKeyEntity {
  return {
    kid: record.kid,
    alg: record.alg,
    publicJwk: { ...record.publicJwk },
    encryptedPrivateJwk: record.encryptedPrivateJwk,
    createdAt: record.createdAt,
    retiredAt: record.retiredAt,
    unpublishAfter: record.unpublishAfter,
  };
}
