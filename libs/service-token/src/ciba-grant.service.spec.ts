import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import {
  type AuthRequest,
  type AuthRequestRepository,
  type CachedPollAnswer,
  type ClientAuthRequests,
  type PendingPollCache,
  type PollRecord,
  asAuthenticatedClient,
  systemClock,
} from '@ciba/domain';
import { NO_TRACING, type TokenIssuer } from '@ciba/platform';
import { OAuthError } from '@ciba/protocol';
import { AuthReqIds } from '@ciba/tokens';
import { CibaGrantService } from './ciba-grant.service.js';

/** Records every lookup; answers "unknown" so a lookup that happens is visible, not fatal. */
class RecordingRequests implements AuthRequestRepository {
  readonly lookups: string[] = [];
  forClient(): ClientAuthRequests {
    return {
      find: (requestId) => this.looked(`find ${requestId}`, null),
      recordPoll: (requestId): Promise<PollRecord | null> => this.looked(`recordPoll ${requestId}`, null),
      undoRedemption: (requestId) => this.looked(`undoRedemption ${requestId}`, undefined),
    };
  }
  create = () => this.looked('create', undefined);
  createForUser = () => this.looked('createForUser', null);
  findById = (id: string) => this.looked(`findById ${id}`, null);
  decide = (id: string) => this.looked(`decide ${id}`, null);
  markNotified = (id: string) => this.looked(`markNotified ${id}`, undefined);
  expireDue = (): Promise<AuthRequest[]> => this.looked('expireDue', []);
  findUnnotified = (): Promise<AuthRequest[]> => this.looked('findUnnotified', []);
  markOutcomePublished = () => this.looked('markOutcomePublished', undefined);
  findUnpublishedOutcomes = (): Promise<AuthRequest[]> => this.looked('findUnpublishedOutcomes', []);
  findByAccessTokenJti = (jti: string) => this.looked(`findByAccessTokenJti ${jti}`, null);
  private looked<T>(what: string, answer: T): Promise<T> {
    this.lookups.push(what);
    return Promise.resolve(answer);
  }
}

class RecordingPollCache implements PendingPollCache {
  readonly lookups: string[] = [];
  recordPoll(_clientId: string, requestId: string): Promise<CachedPollAnswer | null> {
    this.lookups.push(`recordPoll ${requestId}`);
    return Promise.resolve(null);
  }
  rememberPending(): Promise<void> {
    return Promise.resolve();
  }
  settle(): Promise<void> {
    return Promise.resolve();
  }
}

const client = asAuthenticatedClient({
  clientId: 'rp-1',
  clientName: 'RP',
  clientSecretHash: 'scrypt$x',
  clientSecretSealed: null,
  jwks: null,
  jwksUri: null,
  tokenEndpointAuthSigningAlg: null,
  tokenEndpointAuthMethod: 'client_secret_basic',
  grantTypes: ['urn:openid:params:grant-type:ciba'],
  scope: ['openid'],
  backchannelTokenDeliveryMode: 'poll',
  backchannelClientNotificationEndpoint: null,
  backchannelUserCodeParameter: false,
  idTokenSignedResponseAlg: null,
  authorizationDetailsTypes: [],
  defaultAcrValues: [],
});

function service() {
  const requests = new RecordingRequests();
  const pollCache = new RecordingPollCache();
  const authReqIds = new AuthReqIds(randomBytes(32).toString('base64'));
  const events = { publish: () => Promise.resolve() };
  // No request is approved here, so nothing is ever minted.
  const issuer = { prepare: () => Promise.reject(new Error('nothing to mint')), newRefreshToken: () => null, newAccessToken: () => ({ jti: 'jti-1', expiresAt: new Date() }) } as unknown as TokenIssuer;
  return { requests, pollCache, authReqIds, grant: new CibaGrantService(requests, events, systemClock, pollCache, issuer, authReqIds, NO_TRACING) };
}

async function errorOf(promise: Promise<unknown>): Promise<OAuthError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof OAuthError)) throw new Error(`expected an OAuthError, got ${String(err)}`);
  return err;
}

describe('CibaGrantService: the auth_req_id is checked before any lookup', () => {
  it('a forged auth_req_id (valid shape, wrong MAC) is invalid_grant without a database or cache lookup', async () => {
    const { grant, requests, pollCache, authReqIds } = service();
    const requestId = randomUUID();
    const genuine = Buffer.from(authReqIds.issue(requestId, client.clientId), 'base64url');
    const flipped = Buffer.from(genuine);
    flipped[47] ^= 0x01;
    // A request id read in a log, with a MAC made up.
    const madeUp = Buffer.concat([genuine.subarray(0, 16), randomBytes(32)]);
    for (const forged of [flipped, madeUp, randomBytes(48)]) {
      const err = await errorOf(grant.exchange(client, forged.toString('base64url')));
      expect(err.error).toBe('invalid_grant');
    }
    expect([...requests.lookups, ...pollCache.lookups]).toEqual([]);
  });

  it('a malformed auth_req_id is invalid_grant without a lookup', async () => {
    const { grant, requests, pollCache } = service();
    for (const malformed of ['x', 'no-such-auth-req-id-0123456789abcdefghijkl', 'a'.repeat(200)]) {
      expect((await errorOf(grant.exchange(client, malformed))).error).toBe('invalid_grant');
    }
    expect([...requests.lookups, ...pollCache.lookups]).toEqual([]);
  });

  it('another client’s auth_req_id is invalid_grant without a lookup', async () => {
    const { grant, requests, pollCache, authReqIds } = service();
    const theirs = authReqIds.issue(randomUUID(), 'rp-2');
    expect((await errorOf(grant.exchange(client, theirs))).error).toBe('invalid_grant');
    expect([...requests.lookups, ...pollCache.lookups]).toEqual([]);
  });

  it('a genuine auth_req_id is looked up by the request id it refers to, in the cache then the database', async () => {
    const { grant, requests, pollCache, authReqIds } = service();
    const requestId = randomUUID();
    expect((await errorOf(grant.exchange(client, authReqIds.issue(requestId, client.clientId)))).error).toBe('invalid_grant');
    expect(pollCache.lookups).toEqual([`recordPoll ${requestId}`]);
    expect(requests.lookups).toEqual([`recordPoll ${requestId}`]);
  });
});
