import type { BootstrapData } from '@ciba/config';
import type { User } from '@ciba/domain';
import type { TypeOrmClientRepository, TypeOrmUserCodeStore, TypeOrmUserRepository } from '@ciba/persistence';
import type { EndpointPolicy } from '@ciba/outbound';
import type { SigningAlg } from '@ciba/protocol';
import type { KeyEncryptor, SecretHasher } from '@ciba/tokens';
import { buildClient, clientMetadataProblems } from '../clients/client-metadata.js';
import type { SectorIdentifierDocuments } from '../clients/sector-identifier.js';

export interface BootstrapResult {
  readonly clients: { readonly written: number; readonly unchanged: number };
  readonly users: { readonly written: number; readonly unchanged: number };
}

/**
 * Upserts the bootstrap file's clients and users. Idempotent: a client whose stored hash already
 * verifies the file's secret keeps that hash (scrypt salts differ each time), and records equal to
 * what is stored are not written at all.
 */
export async function loadBootstrap(
  data: BootstrapData,
  deps: {
    clients: TypeOrmClientRepository;
    users: TypeOrmUserRepository;
    hasher: SecretHasher;
    signingAlgs: readonly SigningAlg[];
    endpoints: EndpointPolicy;
    /** Seals client_secret_jwt secrets (CIBA_KEY_ENCRYPTION_KEY); needed only when the file has such a client. */
    encryptor?: KeyEncryptor | null;
    /** Where users' codes (`user_code`) are kept; needed only when the file sets one. */
    userCodes?: TypeOrmUserCodeStore | null;
    /** Fetches sector_identifier_uri documents (OpenID Connect Core §8.1); default: under `endpoints`, without extra CA. */
    sectorDocuments?: SectorIdentifierDocuments;
  },
): Promise<BootstrapResult> {
  // One client's checks are shared with dynamic registration (clients/client-metadata.ts).
  const checked = await Promise.all(data.clients.map(async (c) => ({ c, problems: await clientMetadataProblems(c, deps) })));
  const mismatched = checked.filter(({ problems }) => problems.some((p) => p.field === 'id_token_signed_response_alg')).map(({ c }) => c.client_id);
  if (mismatched.length > 0) {
    throw new Error(
      `bootstrap: ${mismatched.join(', ')} ask for an id_token_signed_response_alg this provider does not sign with (CIBA_SIGNING_ALGS: ${deps.signingAlgs.join(' ')})`,
    );
  }
  const problems = checked.flatMap(({ c, problems: found }) => found.map((p) => `${c.client_id}: ${p.field} ${p.message}`));
  if (!deps.userCodes && data.users.some((u) => u.user_code !== undefined)) problems.push('user_code needs a user code store');
  if (problems.length > 0) throw new Error(`bootstrap: ${problems.join('; ')}`);

  let clientsWritten = 0;
  let clientsUnchanged = 0;
  for (const c of data.clients) {
    const existing = await deps.clients.findById(c.client_id);
    const client = await buildClient(c, existing, deps);
    if (existing && sameJson(existing, client)) {
      clientsUnchanged++;
      continue;
    }
    await deps.clients.upsert(client);
    clientsWritten++;
  }
  let usersWritten = 0;
  let usersUnchanged = 0;
  for (const u of data.users) {
    const user: User = {
      sub: u.sub,
      name: u.name ?? null,
      email: u.email ?? null,
      emailVerified: u.email_verified,
      phoneNumber: u.phone_number ?? null,
      phoneNumberVerified: u.phone_number_verified,
      channelPreference: u.channel_preference ?? null,
      ...(u.preferred_username === undefined ? {} : { preferredUsername: u.preferred_username }),
    };
    const existing = await deps.users.findBySub(u.sub);
    const userWritten = !(existing && sameJson(existing, user));
    if (userWritten) await deps.users.upsert(user);
    const codeWritten = u.user_code !== undefined && deps.userCodes ? await setUserCode(u.sub, u.user_code, deps.userCodes, deps.hasher) : false;
    if (userWritten || codeWritten) usersWritten++;
    else usersUnchanged++;
  }
  return { clients: { written: clientsWritten, unchanged: clientsUnchanged }, users: { written: usersWritten, unchanged: usersUnchanged } };
}

/**
 * CIBA §7.1: the user's code hashed (scrypt, as client secrets); a stored hash that already verifies
 * the file's code is kept (salts differ each time). True when the hash was written.
 */
async function setUserCode(sub: string, code: string, store: TypeOrmUserCodeStore, hasher: SecretHasher): Promise<boolean> {
  const stored = (await store.findHolder({ sub }))?.userCodeHash ?? null;
  if (stored !== null && (await hasher.verify(code, stored))) return false;
  return store.setUserCodeHash(sub, await hasher.hash(code));
}

/** Equal as JSON whatever the order of object members, at any depth (jsonb, e.g. a client's jwks, does not keep it). */
function sameJson(a: object, b: object): boolean {
  const norm = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(norm);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(Object.entries(value).sort(([x], [y]) => x.localeCompare(y)).map(([k, v]) => [k, norm(v)]));
  };
  return JSON.stringify(norm(a)) === JSON.stringify(norm(b));
}
