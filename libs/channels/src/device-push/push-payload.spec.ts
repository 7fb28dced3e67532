import { describe, expect, it } from '@jest/globals';
import type { ApprovalNotification } from '../channel.js';
import { devicePushPayload, GENERIC_PUSH_BODY } from './push-payload.js';

const notification: ApprovalNotification = {
  requestId: 'req-7f3a',
  clientName: 'Acme Bank',
  bindingMessage: 'W4SCT',
  scope: ['openid', 'payments:transfer'],
  authorizationDetails: [{ type: 'payment_initiation', amount: '100.00' }],
  expiresAt: new Date('2030-01-01T00:05:00Z'),
  approvalUrl: 'https://op.example/approve/one-time-xyz',
  recipientName: 'Alice Doe',
};

describe('devicePushPayload', () => {
  it('names the client, shows the binding message and links to the approval page', () => {
    expect(devicePushPayload(notification)).toEqual({
      title: 'Sign-in request from Acme Bank',
      body: 'W4SCT',
      url: 'https://op.example/approve/one-time-xyz',
    });
  });

  it('falls back to a generic sentence without a binding message', () => {
    expect(devicePushPayload({ ...notification, bindingMessage: null }).body).toBe(GENERIC_PUSH_BODY);
    expect(devicePushPayload({ ...notification, bindingMessage: '   ' }).body).toBe(GENERIC_PUSH_BODY);
  });

  it('never carries scopes, authorization details, the request id or the user', () => {
    const json = JSON.stringify(devicePushPayload(notification));
    for (const secret of ['payments:transfer', 'openid', 'payment_initiation', 'req-7f3a', 'Alice', 'requestId', 'scope']) {
      expect(json).not.toContain(secret);
    }
    expect(Object.keys(devicePushPayload(notification)).sort()).toEqual(['body', 'title', 'url']);
  });

  it('stays under 1 KB even with oversized names and messages', () => {
    const big = devicePushPayload({ ...notification, clientName: 'C'.repeat(2000), bindingMessage: 'é'.repeat(2000) });
    expect(Buffer.byteLength(JSON.stringify(big), 'utf8')).toBeLessThan(1024);
    expect(big.title.endsWith('…')).toBe(true);
  });
});
