import { describe, expect, it } from '@jest/globals';
import { type DecisionPageModel, approvalPageCsp, renderDecisionPage, renderMessagePage, stepUpPageCsp } from './approval-page.view.js';

const now = new Date('2030-01-01T12:00:00Z');
const model = (over: Partial<DecisionPageModel> = {}): DecisionPageModel => ({
  clientName: 'Acme Bank',
  bindingMessage: 'W4SCT',
  scope: ['openid', 'email', 'custom:read'],
  authorizationDetails: null,
  expiresAt: new Date(now.getTime() + 4.5 * 60_000),
  now,
  actionPath: '/approve/abc',
  csrfToken: 'csrf-value',
  nonce: 'n0nce',
  ...over,
});

describe('approval page view', () => {
  it('shows the client, the binding message, scope labels, the expiry and both decisions', () => {
    const html = renderDecisionPage(model());
    expect(html).toContain('<h1>Sign-in request</h1>');
    expect(html).toContain('Acme Bank');
    expect(html).toContain('W4SCT');
    expect(html).toContain('<li>Your email address</li>');
    expect(html).toContain('<li>custom:read</li>');
    expect(html).toContain('expires in 5 minutes');
    expect(html).toContain('<button type="submit" name="decision" value="approve" class="approve">Approve</button>');
    expect(html).toContain('<button type="submit" name="decision" value="deny" class="deny">Deny</button>');
    expect(html).toContain('<input type="hidden" name="csrf" value="csrf-value">');
    expect(html).toContain('<form method="post" action="/approve/abc">');
  });

  it('escapes everything client or user controlled', () => {
    const html = renderDecisionPage(
      model({
        clientName: '<img src=x onerror=alert(1)>',
        bindingMessage: '"><script>alert(2)</script>',
        scope: ['<b>x</b>'],
        authorizationDetails: [{ type: '<i>pay</i>', locations: ['"https://x"'] }],
      }),
    );
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).toContain('<strong>&lt;i&gt;pay&lt;/i&gt;</strong>');
    expect(html).toContain('Locations: &quot;https://x&quot;');
  });

  it('puts the CSP nonce on its one style block and has no script at all', () => {
    for (const html of [renderDecisionPage(model()), renderMessagePage({ title: 'Denied', message: '<x>', nonce: 'n0nce' })]) {
      expect(html.match(/<style/g)).toHaveLength(1);
      expect(html).toContain('<style nonce="n0nce">');
      expect(html).not.toMatch(/<script/i);
      expect(html).not.toMatch(/ on[a-z]+=/i);
      expect(html).toContain('<html lang="en">');
      expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    }
  });

  it('leaves out the binding message and scope sections when there are none; one minute is singular', () => {
    const html = renderDecisionPage(model({ bindingMessage: null, scope: [], expiresAt: new Date(now.getTime() + 30_000) }));
    expect(html).not.toContain('class="binding"');
    expect(html).not.toContain('It asks for');
    expect(html).toContain('expires in 1 minute.');
  });

  it('message pages escape title and text', () => {
    const html = renderMessagePage({ title: 'A & B', message: '<b>hi</b>', nonce: 'n' });
    expect(html).toContain('<h1>A &amp; B</h1>');
    expect(html).toContain('<p>&lt;b&gt;hi&lt;/b&gt;</p>');
  });

  it('builds a strict CSP around the nonce', () => {
    expect(approvalPageCsp('abc')).toBe("default-src 'none'; style-src 'nonce-abc'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; img-src 'none'");
  });
});

describe('approval page view: passkey step-up', () => {
  const options = { challenge: 'Y2g', rpId: 'op.example', allowCredentials: [{ id: 'Y3JlZA', type: 'public-key' }], userVerification: 'required', note: '"></form><script>' };

  it('runs the ceremony from our script under the nonce; the options are an escaped attribute, the assertion a hidden field', () => {
    const html = renderDecisionPage(model({ stepUp: { kind: 'ceremony', options, scriptPath: 'assets/step-up.js' } }));
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('<script nonce="n0nce" src="assets/step-up.js"></script>');
    expect(html).not.toMatch(/<script[^>]*>[^<]/);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).toContain('data-step-up-options="{&quot;challenge&quot;:&quot;Y2g&quot;');
    expect(html).not.toContain('"></form><script>');
    expect(html).toContain('<input type="hidden" id="assertion" name="assertion" value="">');
    expect(html).toContain('This request needs your passkey.');
    expect(html).toContain('value="approve"');
    expect(html).toContain('value="deny"');
    expect(html).toContain('<p id="step-up-status" class="status" role="status" aria-live="polite"></p>');
    expect(html).toContain('<noscript>');
  });

  it('without a usable passkey offers only Deny and says why, with no script', () => {
    const html = renderDecisionPage(model({ stepUp: { kind: 'no-passkey' } }));
    expect(html).toContain('This request needs a passkey.');
    expect(html).not.toContain('value="approve"');
    expect(html).toContain('<button type="submit" name="decision" value="deny" class="deny">Deny</button>');
    expect(html).not.toMatch(/<script/i);
  });

  it("the step-up page's CSP adds only our nonce'd script and this origin for connections", () => {
    expect(stepUpPageCsp('abc')).toBe(
      "default-src 'none'; script-src 'nonce-abc'; style-src 'nonce-abc'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; img-src 'none'",
    );
  });
});
