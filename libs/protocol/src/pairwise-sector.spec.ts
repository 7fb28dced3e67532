import { describe, expect, it } from '@jest/globals';
import { type SectorRegistration, bindingUris, sectorIdentifierDocumentProblem, sectorIdentifierOf, sectorIdentifierProblem } from './pairwise-sector.js';

const poll: SectorRegistration = {
  clientId: 'rp-1',
  sectorIdentifierUri: null,
  backchannelTokenDeliveryMode: 'poll',
  backchannelClientNotificationEndpoint: null,
  tokenEndpointAuthMethod: 'client_secret_basic',
  jwksUri: null,
  backchannelAuthenticationRequestSigningAlg: null,
};
const push: SectorRegistration = { ...poll, clientId: 'push-1', backchannelTokenDeliveryMode: 'push', backchannelClientNotificationEndpoint: 'https://RP.Bank.example:8443/cb' };
const keyed: SectorRegistration = { ...poll, clientId: 'keyed-1', tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://keys.bank.example/jwks.json' };

describe('sector identifiers (OpenID Connect Core §8.1)', () => {
  it('OpenID Connect Core §8.1 the sector is the host of the sector_identifier_uri when registered', () => {
    expect(sectorIdentifierOf({ ...push, sectorIdentifierUri: 'https://Bank.example/sector.json' })).toBe('bank.example');
  });

  it('OpenID Connect Core §8.1 without one, the host of a push notification endpoint (no port, lower case)', () => {
    expect(sectorIdentifierOf(push)).toBe('rp.bank.example');
  });

  it('OpenID Connect Core §8.1 without one, the host of a jwks_uri the client signs with', () => {
    expect(sectorIdentifierOf(keyed)).toBe('keys.bank.example');
    expect(sectorIdentifierOf({ ...poll, jwksUri: 'https://keys.bank.example/jwks.json', backchannelAuthenticationRequestSigningAlg: 'PS256' })).toBe('keys.bank.example');
  });

  it('OpenID Connect Core §17.3 a client bound to no host gets a sector of its own', () => {
    expect(sectorIdentifierOf(poll)).toBe('client:rp-1');
    expect(sectorIdentifierOf({ ...poll, clientId: 'rp-2' })).not.toBe(sectorIdentifierOf(poll));
  });

  it('OpenID Connect Core §17.3 URIs that prove nothing do not place a client in their host’s sector', () => {
    // A ping or poll endpoint, and a jwks_uri nobody signs with, can name anyone's host.
    expect(bindingUris({ ...push, backchannelTokenDeliveryMode: 'ping' })).toEqual([]);
    expect(sectorIdentifierOf({ ...push, backchannelTokenDeliveryMode: 'ping' })).toBe('client:push-1');
    expect(sectorIdentifierOf({ ...poll, jwksUri: 'https://keys.bank.example/jwks.json' })).toBe('client:rp-1');
  });

  it('OpenID Connect Core §8.1 a client id that looks like a host is not that host’s sector', () => {
    expect(sectorIdentifierOf({ ...poll, clientId: 'rp.bank.example' })).not.toBe(sectorIdentifierOf(push));
  });

  it('OpenID Connect Core §8.1 binding URIs on several hosts need a sector_identifier_uri', () => {
    const both = { ...push, tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://keys.other.example/jwks.json' };
    expect(sectorIdentifierProblem(both)).toMatch(/sector_identifier_uri/);
    expect(sectorIdentifierProblem({ ...both, sectorIdentifierUri: 'https://bank.example/sector.json' })).toBeNull();
    expect(sectorIdentifierProblem(push)).toBeNull();
    expect(sectorIdentifierProblem(poll)).toBeNull();
  });

  it('OpenID Connect Core §8.1 a sector_identifier_uri must be https and come with a URI that binds the client', () => {
    expect(sectorIdentifierProblem({ ...push, sectorIdentifierUri: 'http://bank.example/sector.json' })).toMatch(/https/);
    expect(sectorIdentifierProblem({ ...push, sectorIdentifierUri: 'not a url' })).toMatch(/not a URL/);
    expect(sectorIdentifierProblem({ ...poll, sectorIdentifierUri: 'https://bank.example/sector.json' })).toMatch(/binds the client/);
  });

  it('OpenID Connect Core §8.1 the document is a JSON array listing every URI the client registered', () => {
    const client = { ...push, tokenEndpointAuthMethod: 'private_key_jwt', jwksUri: 'https://keys.bank.example/jwks.json', sectorIdentifierUri: 'https://bank.example/s.json' };
    expect(sectorIdentifierDocumentProblem([push.backchannelClientNotificationEndpoint, client.jwksUri, 'https://other.bank.example/cb'], client)).toBeNull();
    expect(sectorIdentifierDocumentProblem([push.backchannelClientNotificationEndpoint], client)).toMatch(/does not list the client's jwks_uri/);
    expect(sectorIdentifierDocumentProblem([client.jwksUri], client)).toMatch(/backchannel_client_notification_endpoint/);
  });

  it('OpenID Connect Core §8.1 refuses a document that is not an array of strings, or too long', () => {
    expect(sectorIdentifierDocumentProblem({ redirect_uris: [] }, push)).toMatch(/not a JSON array/);
    expect(sectorIdentifierDocumentProblem([push.backchannelClientNotificationEndpoint, 42], push)).toMatch(/not a JSON array/);
    expect(sectorIdentifierDocumentProblem(Array.from({ length: 101 }, (_, i) => `https://h${i}.example/`), push)).toMatch(/more than 100/);
  });
});
