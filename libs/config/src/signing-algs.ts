import { SIGNING_ALGS, type SigningAlg } from '@ciba/protocol';

/** ES256 signs by default; RS256 is always offered (OpenID Connect Discovery 1.0 §3). */
export const DEFAULT_SIGNING_ALGS: readonly SigningAlg[] = ['ES256', 'RS256'];

/**
 * The algorithms with an active signing key, the default first: `CIBA_SIGNING_ALGS` (space or comma
 * separated). The older `CIBA_SIGNING_ALG` still names the default: alone it means that algorithm
 * plus RS256; next to `CIBA_SIGNING_ALGS` it must be the first of them. Problems are added to
 * `problems`, each naming its variable; the result is then meaningless.
 */
export function parseSigningAlgs(list: string | undefined, legacyDefault: SigningAlg | undefined, problems: string[]): SigningAlg[] {
  if (list === undefined) {
    return legacyDefault === undefined ? [...DEFAULT_SIGNING_ALGS] : [...new Set<SigningAlg>([legacyDefault, 'RS256'])];
  }
  const names = list.split(/[\s,]+/).filter(Boolean);
  const unknown = names.filter((name) => !(SIGNING_ALGS as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0 || new Set(names).size !== names.length) {
    problems.push(`CIBA_SIGNING_ALGS: expected distinct algorithms among ${SIGNING_ALGS.join(', ')}`);
    return [];
  }
  const algs = names as SigningAlg[];
  if (!algs.includes('RS256')) {
    problems.push('CIBA_SIGNING_ALGS: must include RS256 (OpenID Connect Discovery 1.0 §3 requires it in id_token_signing_alg_values_supported)');
  }
  if (legacyDefault !== undefined && legacyDefault !== algs[0]) {
    problems.push(`CIBA_SIGNING_ALG: names the default algorithm, which must then be the first of CIBA_SIGNING_ALGS (${algs[0]}); set one of them only`);
  }
  return algs;
}
