import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '@ciba/config';
import { parsePolicy } from './policy.js';
import { matchRoutePattern, nonCanonicalPathProblem, parseRoutePattern } from './route-pattern.js';
import { TemplateError, renderJsonTemplate, renderTemplate } from './templates.js';

const base = {
  subjectTokens: { issuers: [{ issuer: 'https://idp.example', jwksUri: 'https://idp.example/jwks' }], audience: 'api://payments' },
  providers: { main: { issuer: 'https://op.example', client: { clientId: 'gateway', clientSecret: 'gateway-secret' } } },
  upstream: 'http://payments.internal:8080',
  routes: [{ method: 'POST', path: '/payments/:id', bindingMessage: 'Pay {{params.id}} for {{claims.name}}' }],
};

function problemsOf(document: unknown): string[] {
  try {
    parsePolicy(document, 'policy.json');
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('the policy was accepted');
}

describe('step-up policy', () => {
  it('fills the defaults: CIBA on, once, fingerprinted, Authorization: Bearer, the only provider', () => {
    const policy = parsePolicy(base);
    expect(policy.routes[0]).toMatchObject({
      id: 'POST /payments/:id',
      provider: 'main',
      methods: ['POST'],
      cibaEnabled: true,
      loginHintClaim: 'sub',
      scope: 'openid',
      reuse: 'once',
      fingerprint: true,
      injectHeader: { name: 'Authorization', scheme: 'Bearer' },
    });
    expect(policy.unmatched).toBe('pass');
    expect(policy.forwardAuth).toEqual({ methodHeader: 'X-Original-Method', uriHeader: 'X-Original-URI' });
  });

  it('refuses a policy with every problem named, never starting half-configured', () => {
    const problems = problemsOf({
      ...base,
      providers: { main: { client: { clientId: 'gateway' } }, other: { issuer: 'https://op2.example', client: { clientId: 'g', clientSecret: 's' } } },
      routes: [
        { method: 'POST', path: '/payments/:id', bindingMessage: 'Pay {{params.amount}}', provider: 'nope' },
        { method: 'FETCH', path: 'payments' },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^policy\.json: providers\.main: set issuer \(discovery\) or both cibaEndpoint and tokenEndpoint/),
        expect.stringMatching(/^policy\.json: providers\.main\.client: set exactly one of clientSecret and privateKeyJwt/),
        expect.stringMatching(/^policy\.json: routes\.1\.method/),
        expect.stringMatching(/^policy\.json: routes\.1\.path/),
      ]),
    );
  });

  it('refuses templates naming a parameter the path lacks, an unknown placeholder, or an unknown provider', () => {
    const problems = problemsOf({
      ...base,
      routes: [{ method: 'POST', path: '/payments/:id', bindingMessage: 'Pay {{params.amount}} {{env.SECRET}}', provider: 'nope', authorizationDetails: [{ type: 'x', to: '{{params.to}}' }] }],
    });
    expect(problems).toEqual([
      'policy.json: routes.0.provider: no provider named "nope"',
      'policy.json: routes.0: {{params.amount}}: the path has no parameter :amount',
      'policy.json: routes.0: {{env.SECRET}}: unknown placeholder (use params.<name>, claims.<name>, method or path)',
      'policy.json: routes.0: {{params.to}}: the path has no parameter :to',
    ]);
  });

  it('refuses unknown fields (a typo must not silently switch a protection off)', () => {
    expect(problemsOf({ ...base, routes: [{ method: 'POST', path: '/p', cibaEnabeld: false }] })).toEqual([expect.stringMatching(/routes\.0: Unrecognized key: "cibaEnabeld"/)]);
  });

  it('refuses plain-text URLs that are not http(s), and header names that are not tokens', () => {
    const problems = problemsOf({ ...base, upstream: 'file:///etc/passwd', routes: [{ method: 'GET', path: '/r', injectHeader: { name: 'X Bad' } }] });
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(/^policy\.json: upstream/), expect.stringMatching(/^policy\.json: routes\.0\.injectHeader\.name/)]));
  });
});

describe('route patterns', () => {
  it('matches literal segments and :parameters, percent-decoded', () => {
    const pattern = parseRoutePattern('/payments/:id/capture');
    expect(matchRoutePattern(pattern, '/payments/42/capture')).toEqual({ id: '42' });
    expect(matchRoutePattern(pattern, '/payments/a%20b/capture')).toEqual({ id: 'a b' });
    expect(matchRoutePattern(pattern, '/payments/42')).toBeNull();
    expect(matchRoutePattern(pattern, '/payments//capture')).toBeNull();
  });

  it('never matches an encoded slash or a dot segment (another resource upstream)', () => {
    const pattern = parseRoutePattern('/payments/:id');
    expect(matchRoutePattern(pattern, '/payments/1%2F..%2Fadmin')).toBeNull();
    expect(matchRoutePattern(pattern, '/payments/..')).toBeNull();
    expect(matchRoutePattern(pattern, '/payments/%E0%A4%A')).toBeNull();
  });

  it('matches literals whatever their case, and with or without a trailing slash, as most upstream routers do', () => {
    const pattern = parseRoutePattern('/payments/:id');
    expect(matchRoutePattern(pattern, '/PAYMENTS/42')).toEqual({ id: '42' });
    expect(matchRoutePattern(pattern, '/payments/42/')).toEqual({ id: '42' });
  });

  it('calls a path upstreams could read as another resource non-canonical (refused before any matching)', () => {
    expect(nonCanonicalPathProblem('/payments/42')).toBeNull();
    expect(nonCanonicalPathProblem('/payments/42/')).toBeNull();
    expect(nonCanonicalPathProblem('/public/../payments/1')).toBe('the path must not hold dot segments');
    expect(nonCanonicalPathProblem('/public/%2e%2E/payments/1')).toBe('the path must not hold dot segments');
    expect(nonCanonicalPathProblem('/public/./x')).toBe('the path must not hold dot segments');
    expect(nonCanonicalPathProblem('/public%2Fpayments/1')).toBe('the path must not hold an encoded slash or a backslash');
    expect(nonCanonicalPathProblem('/public\\..\\payments')).toBe('the path must not hold an encoded slash or a backslash');
    expect(nonCanonicalPathProblem('//payments/1')).toBe('the path must not hold empty segments');
    expect(nonCanonicalPathProblem('/payments/%E0%A4%A')).toBe('the path is not valid percent-encoding');
    expect(nonCanonicalPathProblem('/payments/%0a')).toBe('the path must not hold control characters');
  });

  it('matches any rest after a final *', () => {
    const pattern = parseRoutePattern('/public/*');
    expect(matchRoutePattern(pattern, '/public/a/b')).toEqual({});
    expect(matchRoutePattern(pattern, '/private/a')).toBeNull();
    expect(() => parseRoutePattern('/a/*/b')).toThrow('* may only be the last segment');
    expect(() => parseRoutePattern('/a/:id/:id')).toThrow('parameter :id appears twice');
  });
});

describe('templates', () => {
  const context = { params: { id: '42' }, claims: { name: 'Alice', n: 7, obj: { a: 1 } }, method: 'POST', path: '/payments/42' };

  it('renders deterministically from the route parameters and claims', () => {
    expect(renderTemplate('Pay {{params.id}} for {{ claims.name }} ({{method}} {{path}}) #{{claims.n}}', context)).toBe('Pay 42 for Alice (POST /payments/42) #7');
    expect(renderJsonTemplate([{ type: 'payment_initiation', amount: '{{params.id}}', fixed: 3 }], context)).toEqual([{ type: 'payment_initiation', amount: '42', fixed: 3 }]);
  });

  it('refuses a claim that is missing or not text, rather than showing the user a hole', () => {
    expect(() => renderTemplate('Hi {{claims.email}}', context)).toThrow(TemplateError);
    expect(() => renderTemplate('Hi {{claims.obj}}', context)).toThrow('subject token has no string claim obj');
  });
});
