import { describe, expect, it, jest } from '@jest/globals';
import { EndpointRejected, EndpointResolutionFailed } from './endpoint-errors.js';
import { EndpointPolicy } from './endpoint-policy.js';
import type { EndpointPolicyOptions } from './endpoint-policy.js';

function policy(options: Partial<EndpointPolicyOptions> = {}): EndpointPolicy {
  return new EndpointPolicy({
    allowInsecureLoopback: false,
    allowedCidrs: [],
    resolve: () => Promise.reject(Object.assign(new Error('unexpected DNS lookup'), { code: 'ENOTFOUND' })),
    ...options,
  });
}

function rejectionOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    if (error instanceof EndpointRejected) return error.reason;
    throw error;
  }
  throw new Error('not rejected');
}

async function asyncRejectionOf(action: Promise<unknown>): Promise<string> {
  try {
    await action;
  } catch (error) {
    if (error instanceof EndpointRejected) return error.reason;
    throw error;
  }
  throw new Error('not rejected');
}

describe('EndpointPolicy.checkUrl (CIBA §10.2/§10.3 backchannel_client_notification_endpoint syntax)', () => {
  it('accepts an https URL and returns it parsed', () => {
    const { url } = policy().checkUrl('https://client.example.com/cb?tenant=1');
    expect(url.hostname).toBe('client.example.com');
    expect(url.search).toBe('?tenant=1');
  });

  it.each(['not a url', '/relative/cb', '', 'https://'])('refuses %j as invalid_url', (value) => {
    expect(rejectionOf(() => policy().checkUrl(value))).toBe('invalid_url');
  });

  it.each(['ftp://client.example.com/cb', 'ws://client.example.com/cb', 'file:///etc/passwd', 'data:text/plain,x'])('refuses the scheme of %s as not_https', (value) => {
    expect(rejectionOf(() => policy().checkUrl(value))).toBe('not_https');
  });

  it('refuses http without the development setting, even to loopback', () => {
    expect(rejectionOf(() => policy().checkUrl('http://127.0.0.1:8080/cb'))).toBe('not_https');
    expect(rejectionOf(() => policy().checkUrl('http://localhost:8080/cb'))).toBe('not_https');
  });

  it.each(['http://127.0.0.1:8080/cb', 'http://127.9.9.9/cb', 'http://localhost:8080/cb', 'http://LOCALHOST./cb', 'http://[::1]:8080/cb', 'http://[::ffff:127.0.0.1]/cb'])(
    'accepts %s with the development setting (loopback host)',
    (value) => {
      expect(policy({ allowInsecureLoopback: true }).checkUrl(value).url.protocol).toBe('http:');
    },
  );

  it.each(['http://client.example.com/cb', 'http://10.0.0.1/cb', 'http://localhost.example.com/cb', 'http://[::2]/cb'])(
    'refuses %s even with the development setting (not a loopback host)',
    (value) => {
      expect(rejectionOf(() => policy({ allowInsecureLoopback: true }).checkUrl(value))).toBe('not_https');
    },
  );

  it.each(['https://user:pass@client.example.com/cb', 'https://user@client.example.com/cb', 'https://:pass@client.example.com/cb'])('refuses user information in %s', (value) => {
    expect(rejectionOf(() => policy().checkUrl(value))).toBe('has_credentials');
  });

  it.each(['https://client.example.com/cb#frag', 'https://client.example.com/cb#'])('refuses the fragment in %s', (value) => {
    expect(rejectionOf(() => policy().checkUrl(value))).toBe('has_fragment');
  });

  it('says why in a message that does not repeat the URL', () => {
    try {
      policy().checkUrl('https://user:s3cret@client.example.com/cb');
      throw new Error('not rejected');
    } catch (error) {
      expect(error).toBeInstanceOf(EndpointRejected);
      expect((error as Error).message).not.toContain('s3cret');
    }
  });
});

describe('EndpointPolicy.resolveAllowed (SSRF protection)', () => {
  const url = (host: string): URL => new URL(`https://${host}/cb`);

  it.each([
    '10.0.0.1',
    '192.168.1.1',
    '172.16.0.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.100.100.200',
    '127.0.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '192.0.2.1',
    '[::1]',
    '[::]',
    '[fe80::1]',
    '[fc00::1]',
    '[fd00:ec2::254]',
    '[::ffff:127.0.0.1]',
    '[::ffff:10.0.0.1]',
    '[64:ff9b::a00:1]',
    '[2002:a00:1::]',
    '[::7f00:1]',
  ])('refuses the literal %s as forbidden_address without DNS', async (host) => {
    const resolve = jest.fn<(host: string) => Promise<string[]>>();
    expect(await asyncRejectionOf(policy({ resolve }).resolveAllowed(url(host)))).toBe('forbidden_address');
    expect(resolve).not.toHaveBeenCalled();
  });

  it.each([
    ['93.184.216.34', 4],
    ['[2606:4700::1111]', 6],
  ] as const)('allows the public address %s', async (host, family) => {
    const [resolved] = await policy().resolveAllowed(url(host));
    expect(resolved).toEqual({ address: host.replace(/[[\]]/g, ''), family });
  });

  it('refuses a host name when any of its addresses is forbidden', async () => {
    const resolve = jest.fn((_host: string) => Promise.resolve(['93.184.216.34', '10.0.0.7']));
    expect(await asyncRejectionOf(policy({ resolve }).resolveAllowed(url('client.example.com')))).toBe('forbidden_address');
    expect(resolve).toHaveBeenCalledWith('client.example.com');
  });

  it('returns every resolved address, once, with its family', async () => {
    const resolve = (_host: string): Promise<string[]> => Promise.resolve(['93.184.216.34', '2606:4700::1111', '93.184.216.34']);
    expect(await policy({ resolve }).resolveAllowed(url('client.example.com'))).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700::1111', family: 6 },
    ]);
  });

  it('refuses a resolver answer that is not a canonical address', async () => {
    const resolve = (_host: string): Promise<string[]> => Promise.resolve(['127.1']);
    expect(await asyncRejectionOf(policy({ resolve }).resolveAllowed(url('client.example.com')))).toBe('forbidden_address');
  });

  it('allows an address inside an allow-listed CIDR, and only inside it', async () => {
    const allowList = policy({ allowedCidrs: ['10.1.0.0/16'] });
    expect(await allowList.resolveAllowed(url('10.1.2.3'))).toEqual([{ address: '10.1.2.3', family: 4 }]);
    expect(await asyncRejectionOf(allowList.resolveAllowed(url('10.2.0.1')))).toBe('forbidden_address');
  });

  it('applies an IPv4 allow-list entry to IPv4-mapped IPv6 addresses', async () => {
    const allowList = policy({ allowedCidrs: ['10.1.0.0/16'] });
    expect(await allowList.resolveAllowed(url('[::ffff:10.1.2.3]'))).toHaveLength(1);
  });

  it('keeps metadata addresses refused inside an allow-listed network unless listed by themselves', async () => {
    expect(await asyncRejectionOf(policy({ allowedCidrs: ['169.254.0.0/16'] }).resolveAllowed(url('169.254.169.254')))).toBe('forbidden_address');
    expect(await asyncRejectionOf(policy({ allowedCidrs: ['100.64.0.0/10'] }).resolveAllowed(url('100.100.100.200')))).toBe('forbidden_address');
    expect(await asyncRejectionOf(policy({ allowedCidrs: ['fd00::/8'] }).resolveAllowed(url('[fd00:ec2::254]')))).toBe('forbidden_address');
    expect(await asyncRejectionOf(policy().resolveAllowed(url('168.63.129.16')))).toBe('forbidden_address');
    expect(await policy({ allowedCidrs: ['169.254.169.254/32'] }).resolveAllowed(url('169.254.169.254'))).toHaveLength(1);
  });

  it('allows loopback, and only loopback, with the development setting', async () => {
    const development = policy({ allowInsecureLoopback: true });
    expect(await development.resolveAllowed(url('127.0.0.1'))).toHaveLength(1);
    expect(await development.resolveAllowed(url('[::1]'))).toHaveLength(1);
    expect(await asyncRejectionOf(development.resolveAllowed(url('10.0.0.1')))).toBe('forbidden_address');
    expect(await asyncRejectionOf(development.resolveAllowed(url('169.254.169.254')))).toBe('forbidden_address');
  });

  it('refuses plain http to a loopback name that resolves elsewhere, even when allow-listed', async () => {
    const resolve = (_host: string): Promise<string[]> => Promise.resolve(['10.1.2.3']);
    const development = policy({ allowInsecureLoopback: true, allowedCidrs: ['10.1.0.0/16'], resolve });
    expect(await asyncRejectionOf(development.resolveAllowed(new URL('http://localhost/cb')))).toBe('forbidden_address');
  });

  it('refuses plain http without the development setting, whatever the allow-list', async () => {
    expect(await asyncRejectionOf(policy({ allowedCidrs: ['127.0.0.1/32'] }).resolveAllowed(new URL('http://127.0.0.1/cb')))).toBe('not_https');
  });

  it('reports a DNS failure as EndpointResolutionFailed with its code', async () => {
    const resolve = (_host: string): Promise<string[]> => Promise.reject(Object.assign(new Error('queryA EAI_AGAIN'), { code: 'EAI_AGAIN' }));
    await expect(policy({ resolve }).resolveAllowed(url('client.example.com'))).rejects.toEqual(new EndpointResolutionFailed('EAI_AGAIN'));
    const empty = (_host: string): Promise<string[]> => Promise.resolve([]);
    await expect(policy({ resolve: empty }).resolveAllowed(url('client.example.com'))).rejects.toBeInstanceOf(EndpointResolutionFailed);
  });

  it('refuses a malformed allow-list at construction', () => {
    expect(() => policy({ allowedCidrs: ['10.0.0.0/33'] })).toThrow('invalid CIDR');
    expect(() => policy({ allowedCidrs: ['10.0.0.0'] })).toThrow('invalid CIDR');
  });
});

describe('EndpointPolicy.check (registration)', () => {
  it('runs the syntax rules before any DNS lookup', async () => {
    const resolve = jest.fn((_host: string) => Promise.resolve(['93.184.216.34']));
    await expect(policy({ resolve }).check('http://client.example.com/cb')).rejects.toMatchObject({ reason: 'not_https' });
    expect(resolve).not.toHaveBeenCalled();
  });

  it('refuses a host name resolving to a private address', async () => {
    const resolve = (_host: string): Promise<string[]> => Promise.resolve(['192.168.0.10']);
    await expect(policy({ resolve }).check('https://client.example.com/cb')).rejects.toMatchObject({ reason: 'forbidden_address' });
  });

  it('accepts a host name resolving to public addresses', async () => {
    const resolve = (_host: string): Promise<string[]> => Promise.resolve(['93.184.216.34']);
    const { url, addresses } = await policy({ resolve }).check('https://client.example.com/cb');
    expect(url.href).toBe('https://client.example.com/cb');
    expect(addresses).toEqual([{ address: '93.184.216.34', family: 4 }]);
  });
});
