import { describe, expect, it } from '@jest/globals';
import { approvalPageCsp } from '../approval-page/approval-page.view.js';
import { renderRemovalPage } from './device-removal-page.view.js';

const model = {
  label: 'Work phone',
  kind: 'fcm' as const,
  registeredAt: new Date('2030-01-01T10:00:42Z'),
  clientName: 'Example Bank',
  csrfToken: 'c'.repeat(43),
  actionPath: 'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde',
  nonce: 'n0nce',
};

describe('renderRemovalPage', () => {
  it('says which device would be removed, when and through what it was added, with one Remove button posting back with the CSRF field', () => {
    const html = renderRemovalPage(model);
    expect(html).toContain('<h1>Remove this device?</h1>');
    expect(html).toContain('<dt>Name</dt><dd>Work phone</dd>');
    expect(html).toContain('<dt>Kind</dt><dd>a mobile app</dd>');
    expect(html).toContain('<dt>Added</dt><dd>2030-01-01 10:00 UTC</dd>');
    expect(html).toContain('<dt>Added through</dt><dd>Example Bank</dd>');
    expect(html).toContain(`<form method="post" action="${model.actionPath}">`);
    expect(html).toContain(`<input type="hidden" name="csrf" value="${model.csrfToken}">`);
    expect(html.match(/<button/g)).toHaveLength(1);
  });

  it('escapes the client-controlled label and client name; no script at all, so the approval page policy fits', () => {
    const html = renderRemovalPage({ ...model, label: '<script>alert(1)</script>', clientName: '"><img src=x>' });
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&quot;&gt;&lt;img src=x&gt;');
    expect(html).not.toMatch(/<script|<img/);
    expect(approvalPageCsp('n0nce')).not.toContain('script-src');
  });

  it('names an enrolment-link registration and an unnamed device plainly', () => {
    const html = renderRemovalPage({ ...model, label: null, clientName: null, kind: 'web-push' });
    expect(html).toContain('<dd>No name given</dd>');
    expect(html).toContain('<dd>a web browser</dd>');
    expect(html).toContain('<dd>A device setup link sent to you</dd>');
  });
});
