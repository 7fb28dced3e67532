import { describe, expect, it } from '@jest/globals';
import { DevToolsAccess, isForwarded, isLoopbackAddress, isLoopbackHost } from './dev-tools-access.js';

describe('DevToolsAccess', () => {
  const access = DevToolsAccess.generate();

  it('makes a fresh 256-bit key per start', () => {
    expect(access.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(DevToolsAccess.generate().key).not.toBe(access.key);
  });

  it('allows a loopback peer without forwarding headers', () => {
    for (const peer of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(access.allows(peer, {}, null)).toBe(true);
  });

  it('refuses any other peer, and a loopback peer behind a proxy (a forwarding header), unless it presents the key', () => {
    for (const peer of ['192.0.2.2', '::ffff:192.0.2.2', 'fd00::2', '128.0.0.1', undefined]) expect(access.allows(peer, {}, null)).toBe(false);
    for (const headers of [{ forwarded: 'for=203.0.113.9' }, { 'x-forwarded-for': '203.0.113.9' }, { 'x-real-ip': '203.0.113.9' }]) {
      expect(access.allows('127.0.0.1', headers, null)).toBe(false);
      expect(access.allows('127.0.0.1', { ...headers, 'x-dev-tools-key': access.key }, null)).toBe(true);
    }
    expect(access.allows('192.0.2.2', { 'x-dev-tools-key': access.key }, null)).toBe(true);
    expect(access.allows('192.0.2.2', {}, access.key)).toBe(true);
  });

  it('refuses a wrong, empty or truncated key', () => {
    for (const key of ['', 'A'.repeat(43), access.key.slice(1), `${access.key}x`]) {
      expect(access.isKey(key)).toBe(false);
      expect(access.allows('192.0.2.2', { 'x-dev-tools-key': key }, key)).toBe(false);
    }
    expect(access.isKey(null)).toBe(false);
  });
});

describe('loopback names', () => {
  it('isLoopbackAddress: 127.0.0.0/8 and ::1 only', () => {
    expect(isLoopbackAddress('127.255.0.1')).toBe(true);
    expect(isLoopbackAddress('0.0.0.0')).toBe(false);
    expect(isLoopbackAddress('::')).toBe(false);
  });

  it('isLoopbackHost: localhost and loopback addresses, bracketed or not', () => {
    for (const host of ['localhost', 'app.localhost', '127.0.0.1', '::1', '[::1]']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', 'example.com', '192.0.2.2', 'localhost.example.com']) expect(isLoopbackHost(host)).toBe(false);
  });

  it('isForwarded: Forwarded, X-Forwarded-For, X-Real-IP', () => {
    expect(isForwarded({ 'x-forwarded-for': '' })).toBe(true);
    expect(isForwarded({ 'x-forwarded-proto': 'https' })).toBe(false);
  });
});
