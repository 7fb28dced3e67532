import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { CallbackSender } from './callback-sender.js';
import { EndpointPolicy } from './endpoint-policy.js';

// Every case here ends before any connection is attempted: no I/O.
describe('CallbackSender without a connection', () => {
  const resolve = jest.fn<(host: string) => Promise<string[]>>();
  let sender: CallbackSender | undefined;
  const senderWith = (options: { allowInsecureLoopback?: boolean } = {}): CallbackSender => {
    sender = new CallbackSender({ policy: new EndpointPolicy({ allowInsecureLoopback: options.allowInsecureLoopback ?? false, allowedCidrs: [], resolve }) });
    return sender;
  };

  afterEach(async () => {
    resolve.mockReset();
    await sender?.close();
  });

  it('refuses a token that is not an RFC 6750 §2.1 b64token, without resolving the host', async () => {
    const outcome = await senderWith().post('https://client.example.com/cb', { auth_req_id: 'x' }, 'bad token\r\nX-Injected: 1');
    expect(outcome).toMatchObject({ kind: 'permanent', reason: 'invalid_bearer_token', status: null });
    expect(resolve).not.toHaveBeenCalled();
  });

  it('turns a policy refusal into a permanent outcome carrying the reason', async () => {
    expect(await senderWith().post('http://client.example.com/cb', {}, 'token')).toMatchObject({ kind: 'permanent', reason: 'not_https' });
    expect(await senderWith().post('https://10.0.0.1/cb', {}, 'token')).toMatchObject({ kind: 'permanent', reason: 'forbidden_address' });
    resolve.mockResolvedValue(['192.168.0.2']);
    expect(await senderWith().post('https://client.example.com/cb', {}, 'token')).toMatchObject({ kind: 'permanent', reason: 'forbidden_address' });
  });

  it('turns a DNS failure into a retryable dns_failure', async () => {
    resolve.mockRejectedValue(Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' }));
    const outcome = await senderWith().post('https://client.example.com/cb', {}, 'token');
    expect(outcome).toMatchObject({ kind: 'retryable', reason: 'dns_failure', status: null, retryAfterMs: null });
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('refuses to post after close', async () => {
    const closed = senderWith();
    await closed.close();
    await expect(closed.post('https://client.example.com/cb', {}, 'token')).rejects.toThrow('closed');
  });
});
