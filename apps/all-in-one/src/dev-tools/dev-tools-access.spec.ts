import { describe, expect, it } from '@jest/globals';
import { DevToolsAccess, isForwarded, isLoopbackAddress, isLoopbackHost } from './dev-tools-access.js';

describe('DevToolsAccess', () => {
  const access = DevToolsAccess.generate();

  it('makes a fresh 256-bit key per start', () => {
    expect(access.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(DevToolsAccess.generate().key).not.toBe(access.key);
  });

  const local = { host: 'localhost:3000' };

  it('allows a loopback peer without forwarding headers, addressing a loopback name', () => {
    for (const peer of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) expect(access.allows(peer, local, null)).toBe(true);
    for (const host of ['127.0.0.1:3000', '[::1]:3000', 'localhost']) expect(access.allows('127.0.0.1', { host }, null)).toBe(true);
  });

  it('DNS rebinding: a loopback peer addressing another host name (a web page whose name now resolves to 127.0.0.1) needs the key', () => {
    for (const host of ['attacker.example:3000', 'attacker.example', '', '192.0.2.2:3000']) {
      expect(access.allows('127.0.0.1', { host }, null)).toBe(false);
      expect(access.allows('127.0.0.1', { host }, access.key)).toBe(true);
    }
    expect(access.allows('127.0.0.1', {}, null)).toBe(false);
  });

  it('refuses any other peer, and a loopback peer behind a proxy (a forwarding header), unless it presents the key', () => {
    for (const peer of ['192.0.2.2', '::ffff:192.0.2.2', 'fd00::2', '128.0.0.1', undefined]) expect(access.allows(peer, {}, null)).toBe(false);
    for (const headers of [{ ...local, forwarded: 'for=203.0.113.9' }, { ...local, 'x-forwarded-for': '203.0.113.9' }, { ...local, 'x-real-ip': '203.0.113.9' }]) {
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
