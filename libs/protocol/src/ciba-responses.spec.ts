import { describe, expect, it } from '@jest/globals';
import { backchannelResponse, pingCallbackBody, pushErrorBody } from './ciba-responses.js';

describe('backchannelResponse', () => {
  it('§7.3 includes interval for poll and ping clients', () => {
    expect(backchannelResponse({ authReqId: 'id-1', expiresIn: 120, interval: 5 })).toEqual({
      auth_req_id: 'id-1',
      expires_in: 120,
      interval: 5,
    });
  });

  it('§7.3 omits interval for push clients', () => {
    const body = backchannelResponse({ authReqId: 'id-1', expiresIn: 120, interval: null });
    expect(body).toEqual({ auth_req_id: 'id-1', expires_in: 120 });
    expect('interval' in body).toBe(false);
  });
});

describe('callback bodies', () => {
  it('§10.2 ping carries only auth_req_id', () => {
    expect(pingCallbackBody('id-1')).toEqual({ auth_req_id: 'id-1' });
  });

  it('§12 push error carries error, error_description and auth_req_id', () => {
    expect(pushErrorBody('id-1', 'access_denied', 'the end-user denied the request')).toEqual({
      error: 'access_denied',
      error_description: 'the end-user denied the request',
      auth_req_id: 'id-1',
    });
  });
});
