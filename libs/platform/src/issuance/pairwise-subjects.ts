import type { Provider } from '@nestjs/common';
import type { ProviderConfig } from '@ciba/config';
import type { Client, PairwiseSubjectMap } from '@ciba/domain';
import { sectorIdentifierOf } from '@ciba/protocol';
import { PostgresPairwiseSubjects } from '@ciba/persistence';
import { PairwiseSubjects } from '@ciba/tokens';

/**
 * The `sub` a client sees (OpenID Connect Core §8): the user's own for `public` clients, the
 * pairwise identifier of the client's sector for `pairwise` ones (§8.1). Every place a `sub` leaves
 * the provider or comes back to it goes through here: token issuance (poll, ping, push, refresh),
 * UserInfo, introspection of refresh tokens, id_token_hint and the device API.
 */
export class SubjectMapper {
  constructor(
    private readonly pairwise: PairwiseSubjects,
    private readonly map: PairwiseSubjectMap,
  ) {}

  /** The `sub` to put in `client`'s tokens, recording a pairwise one so that it can be resolved later (UserInfo, id_token_hint). */
  async issue(client: Client, sub: string): Promise<string> {
    if (client.subjectType !== 'pairwise') return sub;
    const sector = sectorIdentifierOf(client);
    const pairwiseSub = this.pairwise.subject(sector, sub);
    await this.map.record(sector, pairwiseSub, sub);
    return pairwiseSub;
  }

  /** The `sub` `client` knows the user by, without recording it (it was recorded when issued). */
  subjectFor(client: Client, sub: string): string {
    return client.subjectType === 'pairwise' ? this.pairwise.subject(sectorIdentifierOf(client), sub) : sub;
  }

  /**
   * The user's own `sub` for a `sub` that `client` presents (from a token issued to it): a pairwise
   * one resolves within the client's own sector only, so another sector's identifier, or a made-up
   * one, is null.
   */
  async localSubject(client: Client, presented: string): Promise<string | null> {
    if (client.subjectType !== 'pairwise') return presented;
    return this.map.localSubject(sectorIdentifierOf(client), presented);
  }
}

/**
 * The pairwise key: `CIBA_PAIRWISE_SUBJECT_KEY`, or else the key-encryption key (through its own
 * HKDF label either way), for the services that hold keys.
 */
export const subjectMapperProvider = (config: ProviderConfig): Provider => ({
  provide: SubjectMapper,
  inject: [PostgresPairwiseSubjects],
  useFactory: (map: PostgresPairwiseSubjects) => new SubjectMapper(new PairwiseSubjects(config.keys.pairwiseSubjectKey ?? config.keys.encryptionKey), map),
});
