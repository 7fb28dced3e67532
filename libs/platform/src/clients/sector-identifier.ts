import { readFileSync } from 'node:fs';
import { type BootstrapClient, type ProviderConfig, sectorRegistrationOf } from '@ciba/config';
import { DocumentFetchFailed, type EndpointPolicy, JsonDocumentFetcher } from '@ciba/outbound';
import { sectorIdentifierDocumentProblem } from '@ciba/protocol';
import { notificationEndpointPolicy } from '../outbound/endpoint-policy.js';

/** Fetches a `sector_identifier_uri` document (parsed JSON, unjudged). */
export type SectorIdentifierDocuments = (uri: string) => Promise<unknown>;

/** A sector identifier document lists a few URIs; a larger body is not one. */
const SECTOR_DOCUMENT_LIMIT_BYTES = 64 * 1024;

/**
 * GETs sector identifier documents under the outbound policy of every URL a client registers (the
 * SSRF rules of notification endpoints, pinned addresses, no redirects, bounded size and time).
 */
export function sectorIdentifierDocuments(policy: EndpointPolicy, options: { connectTimeoutMs?: number; responseTimeoutMs?: number; ca?: string | Buffer } = {}): SectorIdentifierDocuments {
  const fetcher = new JsonDocumentFetcher({ policy, ...options, limitBytes: SECTOR_DOCUMENT_LIMIT_BYTES, accept: 'application/json', userAgent: 'ciba-provider' });
  return (uri) => fetcher.fetch(uri);
}

/** The provider's fetcher: its callback timeouts and extra CA (`CIBA_CALLBACK_CA_FILE`) as for jwks_uri. */
export function configuredSectorIdentifierDocuments(config: ProviderConfig): SectorIdentifierDocuments {
  return sectorIdentifierDocuments(notificationEndpointPolicy(config), {
    connectTimeoutMs: config.callbacks.connectTimeoutMs,
    responseTimeoutMs: config.callbacks.responseTimeoutMs,
    ...(config.callbacks.caFile ? { ca: readFileSync(config.callbacks.caFile) } : {}),
  });
}

/**
 * OpenID Connect Core §8.1 / Dynamic Client Registration §5: a registered `sector_identifier_uri` is
 * fetched once, at registration, and must be a JSON array listing every URI the client registered
 * (its notification endpoint, its jwks_uri): the host that serves it vouches that those URIs, and so
 * the client, belong to its sector. The problem never quotes the document.
 */
export async function sectorIdentifierUriProblem(c: BootstrapClient, documents: SectorIdentifierDocuments): Promise<string | null> {
  if (c.sector_identifier_uri === undefined) return null;
  let document: unknown;
  try {
    document = await documents(c.sector_identifier_uri);
  } catch (err) {
    return err instanceof DocumentFetchFailed ? `could not be fetched (${err.reason})` : 'could not be fetched';
  }
  return sectorIdentifierDocumentProblem(document, sectorRegistrationOf(c));
}
