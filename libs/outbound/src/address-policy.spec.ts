import { describe, expect, it } from '@jest/globals';
import { AddressPolicy, addressRange, parseAllowedCidrs } from './address-policy.js';

describe('addressRange', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['::7f00:1', 'reserved'],
    ['4000::1', 'reserved'],
    ['93.184.216.34', 'unicast'],
    ['2606:4700::1111', 'unicast'],
  ])('%s is %s', (address, range) => {
    expect(addressRange(address)).toBe(range);
  });
});

describe('AddressPolicy', () => {
  it('names the range of a refused address, for the log', () => {
    expect(new AddressPolicy({ allowLoopback: false, allowedCidrs: [] }).verdict('192.168.1.1')).toEqual({ allowed: false, range: 'private' });
    expect(new AddressPolicy({ allowLoopback: false, allowedCidrs: [] }).verdict('169.254.169.254')).toEqual({ allowed: false, range: 'metadata' });
  });

  it('allows an IPv6 address inside an allow-listed IPv6 network', () => {
    const policy = new AddressPolicy({ allowLoopback: false, allowedCidrs: ['fd12:3456::/32'] });
    expect(policy.verdict('fd12:3456::1').allowed).toBe(true);
    expect(policy.verdict('fd12:3457::1').allowed).toBe(false);
  });

  it('never matches an IPv4 network against an IPv6 address or the reverse', () => {
    const policy = new AddressPolicy({ allowLoopback: false, allowedCidrs: ['10.0.0.0/8'] });
    expect(policy.verdict('fc00::a00:1').allowed).toBe(false);
  });

  it('reads an IPv4-mapped allow-list entry as the IPv4 network', () => {
    expect(parseAllowedCidrs(['::ffff:10.0.0.0/104']).map(([network, bits]) => `${network.toString()}/${bits}`)).toEqual(['10.0.0.0/8']);
  });
});
