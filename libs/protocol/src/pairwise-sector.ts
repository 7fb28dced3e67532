/**
 * OpenID Connect Core 1.0 §8: the two subject identifier types. `public` gives every client the
 * same `sub`; `pairwise` gives each sector its own, so that clients of different sectors cannot
 * correlate a user (§17.3).
 */
export const SUBJECT_TYPES = ['public', 'pairwise'] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

/**
 * What of a client's registration decides its sector (OpenID Connect Core §8.1), in the domain's
 * names: `Client` fits it.
 */
export interface SectorRegistration {
  readonly clientId: string;
  readonly sectorIdentifierUri?: string | null;
  readonly backchannelTokenDeliveryMode: string;
  readonly backchannelClientNotificationEndpoint: string | null;
  readonly tokenEndpointAuthMethod: string;
  readonly jwksUri: string | null;
  readonly backchannelAuthenticationRequestSigningAlg?: string | null;
}

/**
 * The URIs that prove a client is the one behind their host. Core §8.1 takes the sector from the
 * redirect_uris because that is where the tokens go: a client cannot receive tokens at another
 * organisation's redirect URI, so it gains nothing by naming one. A CIBA client has none, and most of
 * its URIs prove nothing either (a poll client need not answer at its notification endpoint; a ping
 * carries only the auth_req_id the client already holds; a jwks_uri can name anyone's public keys).
 * Only two do:
 * - a push client's notification endpoint, where its tokens are delivered (and the token endpoint is
 *   closed to it);
 * - a jwks_uri whose keys the client must sign with to get anything: with private_key_jwt (every
 *   token request), or with backchannel_authentication_request_signing_alg (every request).
 */
export function bindingUris(client: SectorRegistration): string[] {
  const uris: string[] = [];
  if (client.backchannelTokenDeliveryMode === 'push' && client.backchannelClientNotificationEndpoint) uris.push(client.backchannelClientNotificationEndpoint);
  const signsWithJwksUri = client.tokenEndpointAuthMethod === 'private_key_jwt' || (client.backchannelAuthenticationRequestSigningAlg ?? null) !== null;
  if (client.jwksUri && signsWithJwksUri) uris.push(client.jwksUri);
  return uris;
}

/** Every URI the client registered that a sector identifier document must list (as Core §8.1 asks of redirect_uris: all of them). */
export function registeredUris(client: SectorRegistration): string[] {
  return [client.backchannelClientNotificationEndpoint, client.jwksUri].filter((uri): uri is string => typeof uri === 'string' && uri !== '');
}

/** The host component (Core §8.1), lower-case, without port or a trailing root dot. */
function hostOf(uri: string): string {
  const host = new URL(uri).hostname.toLowerCase();
  return host.endsWith('.') ? host.slice(0, -1) : host;
}

/**
 * A client without a URI that binds it to a host gets a sector of its own. A URL's host never holds
 * `:` outside IPv6 brackets, so this cannot equal any host's sector.
 */
const OWN_SECTOR_PREFIX = 'client:';

/**
 * The client's sector identifier (OpenID Connect Core §8.1): the host of its `sector_identifier_uri`
 * when it registered one (checked at registration, `sectorIdentifierDocumentProblem`); otherwise the
 * host of its binding URIs (`bindingUris`, which must then share one host,
 * `sectorIdentifierProblem`); otherwise a sector of its own, keyed by its client_id, so that two
 * clients never share pairwise identifiers unless a host vouches for both.
 */
export function sectorIdentifierOf(client: SectorRegistration): string {
  if (client.sectorIdentifierUri) return hostOf(client.sectorIdentifierUri);
  const [first] = bindingUris(client);
  return first === undefined ? `${OWN_SECTOR_PREFIX}${client.clientId}` : hostOf(first);
}

/**
 * Registration rules of a pairwise client that need no network: a sector_identifier_uri is an https
 * URL and comes with a URI that binds the client to it (otherwise anyone could name any sector's
 * document, listing nothing of theirs); without one, the binding URIs share a host (Core §8.1: a
 * client whose URIs span several hosts must register a sector_identifier_uri). Null when none is broken.
 */
export function sectorIdentifierProblem(client: SectorRegistration): string | null {
  const uri = client.sectorIdentifierUri ?? null;
  if (uri !== null) {
    let parsed: URL;
    try {
      parsed = new URL(uri);
    } catch {
      return 'sector_identifier_uri is not a URL';
    }
    if (parsed.protocol !== 'https:') return 'sector_identifier_uri must use https';
    if (bindingUris(client).length === 0) {
      return 'sector_identifier_uri needs a URI that binds the client to the sector: a push notification endpoint, or a jwks_uri used with private_key_jwt or backchannel_authentication_request_signing_alg';
    }
    return null;
  }
  const hosts = new Set(bindingUris(client).map(hostOf));
  if (hosts.size > 1) return `the client's URIs are on ${hosts.size} hosts: register a sector_identifier_uri listing them (OpenID Connect Core §8.1)`;
  return null;
}

/** A sector identifier document is a small JSON array of URIs; more than this is not one. */
export const SECTOR_IDENTIFIER_DOCUMENT_MAX_ENTRIES = 100;

/**
 * Checks the document fetched from `sector_identifier_uri` (OpenID Connect Core §8.1, Dynamic Client
 * Registration §5): a JSON array of strings that lists every URI the client registered
 * (`registeredUris`), compared exactly. Null when it is acceptable; the problem never quotes the document.
 */
export function sectorIdentifierDocumentProblem(document: unknown, client: SectorRegistration): string | null {
  if (!Array.isArray(document) || !document.every((entry) => typeof entry === 'string')) return 'the sector_identifier_uri document is not a JSON array of URIs';
  if (document.length > SECTOR_IDENTIFIER_DOCUMENT_MAX_ENTRIES) return `the sector_identifier_uri document lists more than ${SECTOR_IDENTIFIER_DOCUMENT_MAX_ENTRIES} URIs`;
  const listed = new Set(document);
  const missing = registeredUris(client).filter((uri) => !listed.has(uri));
  if (missing.length > 0) return `the sector_identifier_uri document does not list the client's ${missing.map((uri) => (uri === client.jwksUri ? 'jwks_uri' : 'backchannel_client_notification_endpoint')).join(' and ')}`;
  return null;
}
