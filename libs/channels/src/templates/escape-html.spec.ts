import { describe, expect, it } from '@jest/globals';
import { escapeHtml } from './escape-html.js';

describe('escapeHtml', () => {
  it('neutralises a script tag', () => {
    expect(escapeHtml('<script>alert(1)</script>')).toBe('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('escapes both quote kinds so a value cannot leave an attribute', () => {
    expect(escapeHtml(`" onmouseover='x'`)).toBe('&quot; onmouseover=&#39;x&#39;');
  });

  it('escapes the ampersand first, without double-escaping what follows', () => {
    expect(escapeHtml('Tom & Jerry &lt;')).toBe('Tom &amp; Jerry &amp;lt;');
  });

  it('leaves ordinary and non-ASCII text alone', () => {
    expect(escapeHtml('Pay 12,00 € to Zoë')).toBe('Pay 12,00 € to Zoë');
  });
});
