import { describe, expect, it } from '@jest/globals';
import { clientIdFromRequest, extractClientCredentials } from './client-credentials.js';
import { parseFormParams } from './form-params.js';
import { errorOf } from '../test/error-of.js';

const basic = (raw: string): string => `Basic ${Buffer.from(raw, 'utf8').toString('base64')}`;
const form = (body: Record<string, string> = {}) => parseFormParams(body);

describe('extractClientCredentials', () => {
  it('RFC 6749 §2.3.1 reads client_secret_basic', () => {
    expect(extractClientCredentials(basic('client-1:s3cret'), form())).toEqual({
      method: 'client_secret_basic',
      clientId: 'client-1',
      clientSecret: 's3cret',
    });
  });

  it('RFC 6749 §2.3.1 form-url-decodes both halves of Basic credentials (+ is a space)', () => {
    const creds = extractClientCredentials(basic('my+client%3A1:p%40ss+word%2B%25'), form());
    expect(creds).toMatchObject({ clientId: 'my client:1', clientSecret: 'p@ss word+%' });
  });

  it('RFC 6749 §2.3.1 splits at the first colon only', () => {
    expect(extractClientCredentials(basic('c:a:b'), form())).toMatchObject({ clientSecret: 'a:b' });
  });

  it('accepts the scheme name in any case (RFC 7235 §2.1)', () => {
    const header = basic('c:s').replace('Basic', 'bAsIc');
    expect(extractClientCredentials(header, form())).toMatchObject({ clientId: 'c' });
  });

  it('RFC 6749 §2.3.1 reads client_secret_post', () => {
    expect(extractClientCredentials(undefined, form({ client_id: 'c', client_secret: 's' }))).toEqual({
      method: 'client_secret_post',
      clientId: 'c',
      clientSecret: 's',
    });
  });

  it('RFC 6749 §2.3 rejects Basic together with a body client_secret', () => {
    const err = errorOf(() => extractClientCredentials(basic('c:s'), form({ client_id: 'c', client_secret: 's' })));
    expect(err.error).toBe('invalid_request');
    expect(err.description).toContain('one client authentication method');
  });

  it('RFC 6749 §3.2.1 allows a body client_id that matches Basic', () => {
    expect(extractClientCredentials(basic('c:s'), form({ client_id: 'c' })).method).toBe('client_secret_basic');
  });

  it('RFC 6749 §2.3 rejects a body client_id that disagrees with Basic', () => {
    expect(errorOf(() => extractClientCredentials(basic('c:s'), form({ client_id: 'other' }))).error).toBe(
      'invalid_request',
    );
  });

  it('RFC 8705 §2 with mutual TLS on, a client_id alone names a certificate-authenticated client; off, it lacks a secret', () => {
    expect(extractClientCredentials(undefined, form({ client_id: 'rp-mtls' }), { tlsClientAuth: true })).toEqual({ method: 'tls_client_certificate', clientId: 'rp-mtls' });
    expect(errorOf(() => extractClientCredentials(undefined, form({ client_id: 'rp-mtls' })))).toMatchObject({ error: 'invalid_client', description: 'client_secret is required' });
    // Another credential beside the client_id is that method, not mutual TLS.
    expect(extractClientCredentials(undefined, form({ client_id: 'rp', client_secret: 's3cret' }), { tlsClientAuth: true }).method).toBe('client_secret_post');
    expect(extractClientCredentials(basic('rp:s3cret'), form({ client_id: 'rp' }), { tlsClientAuth: true }).method).toBe('client_secret_basic');
    expect(errorOf(() => extractClientCredentials(undefined, form(), { tlsClientAuth: true }))).toMatchObject({ error: 'invalid_client' });
  });

  it('RFC 6749 §5.2 answers missing credentials with invalid_client (401) and no challenge', () => {
    const err = errorOf(() => extractClientCredentials(undefined, form()));
    expect(err.error).toBe('invalid_client');
    expect(err.status).toBe(401);
    expect(err.headers).toEqual({});
  });

  it('RFC 6749 §5.2 answers a body client_id without client_secret with invalid_client', () => {
    expect(errorOf(() => extractClientCredentials(undefined, form({ client_id: 'c' }))).error).toBe('invalid_client');
  });

  it('rejects a body client_secret without client_id as invalid_client', () => {
    const err = errorOf(() => extractClientCredentials(undefined, form({ client_secret: 'hunter2' })));
    expect(err.error).toBe('invalid_client');
    expect(err.description).not.toContain('hunter2');
  });

  it.each([
    ['another scheme', 'Bearer abc'],
    ['no credentials', 'Basic'],
    ['not base64', 'Basic !!!!'],
    ['no colon', basic('client-only')],
    ['empty client_id', basic(':secret')],
    ['empty secret', basic('client:')],
    ['bad percent-encoding', basic('c%zz:s')],
    ['a percent-encoded NUL in the client id', basic('con%00sole:s')],
    ['a raw NUL in the client id', basic('con\u0000sole:s')],
    ['a control character in the secret', basic('c:se%1Bcret')],
    ['invalid UTF-8 in the decoded credentials', `Basic ${Buffer.from([0x63, 0xff, 0x3a, 0x73]).toString('base64')}`],
    ['invalid UTF-8 percent-encoded in the client id', basic('c%C3%28:s')],
    ['an oversized client id', basic(`${'c'.repeat(256)}:s`)],
    ['an oversized secret', basic(`c:${'s'.repeat(513)}`)],
  ])('RFC 6749 §5.2 answers malformed Basic (%s) with invalid_client and WWW-Authenticate', (_case, header) => {
    const err = errorOf(() => extractClientCredentials(header, form()));
    expect(err.error).toBe('invalid_client');
    expect(err.status).toBe(401);
    expect(err.headers['WWW-Authenticate']).toMatch(/^Basic /);
  });

  it('never echoes the secret in a description', () => {
    const err = errorOf(() => extractClientCredentials(basic('c:hunter2%zz'), form()));
    expect(err.description).not.toContain('hunter2');
  });
});

describe('extractClientCredentials: JWT client assertions', () => {
  const TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
  const jws = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjIn0.c2ln';

  it('RFC 7521 §4.2 reads client_assertion with its type, and the optional client_id', () => {
    expect(extractClientCredentials(undefined, form({ client_assertion_type: TYPE, client_assertion: jws, client_id: 'c' }))).toEqual({
      method: 'client_assertion',
      clientIdParam: 'c',
      assertion: jws,
    });
  });

  it.each([
    ['no client_assertion_type', { client_assertion: jws }],
    ['no client_assertion', { client_assertion_type: TYPE }],
    ['another assertion type', { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer', client_assertion: jws }],
    ['an assertion that is not a compact JWS', { client_assertion_type: TYPE, client_assertion: 'a.b.c.d.e' }],
    ['an oversized assertion', { client_assertion_type: TYPE, client_assertion: `${jws}${'A'.repeat(8192)}` }],
  ])('RFC 7521 §4.2.1 answers %s with invalid_client', (_case, params) => {
    const err = errorOf(() => extractClientCredentials(undefined, form(params)));
    expect(err.error).toBe('invalid_client');
    expect(err.status).toBe(401);
  });

  it('RFC 6749 §2.3 refuses an assertion beside a client_secret or a Basic header', () => {
    expect(errorOf(() => extractClientCredentials(undefined, form({ client_assertion_type: TYPE, client_assertion: jws, client_secret: 's' }))).error).toBe(
      'invalid_request',
    );
    expect(errorOf(() => extractClientCredentials(basic('c:s'), form({ client_assertion_type: TYPE, client_assertion: jws }))).error).toBe('invalid_request');
  });
});

describe('clientIdFromRequest', () => {
  it('names the client from Basic, from the body, or not at all', () => {
    expect(clientIdFromRequest(basic('a+b:s'), form())).toBe('a b');
    expect(clientIdFromRequest(undefined, form({ client_id: 'c' }))).toBe('c');
    expect(clientIdFromRequest('Basic !!', form({ client_id: 'c' }))).toBeUndefined();
    expect(clientIdFromRequest(undefined, form())).toBeUndefined();
  });
});
