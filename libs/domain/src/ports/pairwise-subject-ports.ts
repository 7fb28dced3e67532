/**
 * OpenID Connect Core §8.1: the way back from a pairwise `sub` to the user. A pairwise identifier is
 * a one-way MAC of the user's own `sub`, so the provider records each one it issues, per sector,
 * and looks it up when a client presents it (UserInfo, id_token_hint, the device API).
 */
export interface PairwiseSubjectMap {
  /** Records that `pairwiseSub` stands for `sub` in `sectorIdentifier`; idempotent, safe to run concurrently. */
  record(sectorIdentifier: string, pairwiseSub: string, sub: string): Promise<void>;
  /** The user `pairwiseSub` stands for within `sectorIdentifier` only; null when it was never issued there. */
  localSubject(sectorIdentifier: string, pairwiseSub: string): Promise<string | null>;
}
