import { describe, expect, it } from '@jest/globals';
import {
  AUTHORIZATION_DETAILS_MAX_BYTES,
  AUTHORIZATION_DETAILS_MAX_ENTRIES,
  authorizationDetailsTypes,
  parseAuthorizationDetails,
} from './authorization-details.js';
import { errorOf } from '../test/error-of.js';

const registered = ['payment_initiation', 'account_information'];
const parse = (value: unknown, types: readonly string[] = registered) =>
  parseAuthorizationDetails(typeof value === 'string' ? value : JSON.stringify(value), types);
const failure = (value: unknown, types: readonly string[] = registered) => {
  const err = errorOf(() => parse(value, types));
  expect(err.error).toBe('invalid_authorization_details');
  expect(err.status).toBe(400);
  return err.description;
};

describe('parseAuthorizationDetails', () => {
  it('RFC 9396 §2 accepts an array of typed objects and keeps type-specific fields as sent', () => {
    const details = [
      {
        type: 'payment_initiation',
        actions: ['initiate', 'status'],
        locations: ['https://pay.example.com/payments'],
        instructedAmount: { currency: 'EUR', amount: '123.50' },
        creditorName: 'Merchant A',
      },
      { type: 'account_information', datatypes: ['balances'], identifier: 'acct-1', privileges: ['read'] },
    ];
    expect(parse(details)).toEqual(details);
  });

  it('RFC 9396 §2.2 accepts the common fields absent or empty', () => {
    expect(parse([{ type: 'payment_initiation', locations: [], actions: [], datatypes: [], privileges: [] }])).toHaveLength(1);
  });

  it('RFC 9396 §2 accepts the same type twice', () => {
    expect(parse([{ type: 'payment_initiation' }, { type: 'payment_initiation' }])).toHaveLength(2);
  });

  it('RFC 9396 §10 rejects any details from a client that registered no type', () => {
    expect(failure([{ type: 'payment_initiation' }], [])).toBe('this client is not registered for any authorization_details type');
  });

  it('RFC 9396 §5 rejects malformed JSON', () => {
    expect(failure('[{"type": "payment_initiation"')).toBe('authorization_details must be valid JSON');
    expect(failure("[{'type': 'payment_initiation'}]")).toBe('authorization_details must be valid JSON');
  });

  it.each(['{"type":"payment_initiation"}', '"payment_initiation"', '42', 'null', 'true'])('RFC 9396 §2 rejects JSON that is not an array: %s', (raw) => {
    expect(failure(raw)).toBe('authorization_details must be a JSON array of objects');
  });

  it('RFC 9396 §2 rejects an empty array', () => {
    expect(failure([])).toBe('authorization_details must not be an empty array');
  });

  it.each([['payment_initiation'], [null], [[{ type: 'payment_initiation' }]], [7]])('RFC 9396 §2 rejects an entry that is not an object: %p', (entry) => {
    expect(failure([{ type: 'payment_initiation' }, entry])).toBe('authorization_details[1] must be a JSON object');
  });

  it('RFC 9396 §5 rejects an entry without type', () => {
    expect(failure([{ actions: ['initiate'] }])).toBe('authorization_details[0] must have a type, a non-empty string');
  });

  it.each([42, null, '', ['payment_initiation'], { name: 'payment_initiation' }])('RFC 9396 §5 rejects a non-string or empty type: %p', (type) => {
    expect(failure([{ type }])).toBe('authorization_details[0] must have a type, a non-empty string');
  });

  it('RFC 9396 §5 rejects a type the client is not registered for, naming it', () => {
    expect(failure([{ type: 'payment_initiation' }, { type: 'tax_filing' }])).toBe(
      "authorization_details[1] has type 'tax_filing', which is not registered for this client",
    );
  });

  it('RFC 9396 §5 does not echo an unprintable or oversized type back (RFC 6749 §5.2 error_description)', () => {
    expect(failure([{ type: 'pay"ment' }])).toBe('authorization_details[0] has type (not shown), which is not registered for this client');
    expect(failure([{ type: 'x'.repeat(65) }])).toContain('(not shown)');
    expect(failure([{ type: 'zahlung\u00e4' }])).toContain('(not shown)');
  });

  it('RFC 9396 §5 compares types exactly (no case folding)', () => {
    expect(failure([{ type: 'Payment_Initiation' }])).toContain('not registered');
  });

  it.each([
    ['locations', 'https://pay.example.com', 'an array of strings'],
    ['locations', [42], 'an array of strings'],
    ['actions', 'initiate', 'an array of strings'],
    ['actions', [null], 'an array of strings'],
    ['datatypes', { balances: true }, 'an array of strings'],
    ['privileges', ['admin', 1], 'an array of strings'],
    ['identifier', ['acct-1'], 'a string'],
    ['identifier', 7, 'a string'],
    ['identifier', null, 'a string'],
  ])('RFC 9396 §2.2 rejects a common field of the wrong type: %s = %p', (field, value, expected) => {
    expect(failure([{ type: 'account_information', [field]: value }])).toBe(`authorization_details[0].${field} must be ${expected}`);
  });

  it(`bounds the size: at most ${AUTHORIZATION_DETAILS_MAX_BYTES} bytes, counted in UTF-8 before parsing`, () => {
    const entry = (length: number) => [{ type: 'payment_initiation', note: 'a'.repeat(length) }];
    const overhead = JSON.stringify(entry(0)).length;
    expect(parse(entry(AUTHORIZATION_DETAILS_MAX_BYTES - overhead))).toHaveLength(1);
    expect(failure(entry(AUTHORIZATION_DETAILS_MAX_BYTES - overhead + 1))).toBe(`authorization_details must be at most ${AUTHORIZATION_DETAILS_MAX_BYTES} bytes`);
    // Multi-byte characters count as the bytes they take, and size wins over any other problem.
    expect(failure(`[${'\u20ac'.repeat(AUTHORIZATION_DETAILS_MAX_BYTES / 3 + 1)}`)).toMatch(/at most \d+ bytes/);
  });

  it(`bounds the count: at most ${AUTHORIZATION_DETAILS_MAX_ENTRIES} entries`, () => {
    const entries = (n: number) => Array.from({ length: n }, () => ({ type: 'payment_initiation' }));
    expect(parse(entries(AUTHORIZATION_DETAILS_MAX_ENTRIES))).toHaveLength(AUTHORIZATION_DETAILS_MAX_ENTRIES);
    expect(failure(entries(AUTHORIZATION_DETAILS_MAX_ENTRIES + 1))).toBe(`authorization_details must have at most ${AUTHORIZATION_DETAILS_MAX_ENTRIES} entries`);
  });

  it.each([
    ['a NUL escape', '"\\u0000"', 'authorization_details contains a control character'],
    ['an escape sequence control character', '"\\u001b[31m"', 'authorization_details contains a control character'],
    ['an unpaired surrogate escape', '"\\ud800"', 'authorization_details contains an unpaired surrogate'],
  ])('refuses %s in a value or member name (PostgreSQL jsonb cannot store it)', (_case, json, description) => {
    expect(failure(`[{"type":"payment_initiation","creditorName":${json}}]`)).toBe(description);
    expect(failure(`[{"type":"payment_initiation",${json}:1}]`)).toBe(description);
  });

  it('accepts tabs and line breaks in values, and nesting up to 32 levels but not deeper', () => {
    expect(parse([{ type: 'payment_initiation', remittance: 'line one\nline two\tend' }])).toHaveLength(1);
    const nested = (depth: number) => `[{"type":"payment_initiation","x":${'['.repeat(depth)}${']'.repeat(depth)}}]`;
    expect(parse(nested(29))).toHaveLength(1);
    expect(failure(nested(40))).toBe('authorization_details is nested deeper than 32 levels');
  });

  it('reports the first failure in rule order', () => {
    // Not registered for anything beats malformed JSON; size beats JSON; the first bad entry wins.
    expect(failure('[', [])).toContain('not registered for any');
    expect(failure([{ type: 'tax_filing' }, { actions: [] }])).toContain('authorization_details[0]');
    expect(failure([{ type: 'tax_filing', actions: 'x' }])).toContain('not registered');
  });

  it('does not let a "__proto__" key change the prototype of the stored detail', () => {
    const [detail] = parse('[{"type":"payment_initiation","__proto__":{"polluted":true}}]');
    expect(Object.getPrototypeOf(detail)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });
});

describe('authorizationDetailsTypes', () => {
  it('lists the distinct types in order of first appearance, none for null', () => {
    expect(authorizationDetailsTypes([{ type: 'b' }, { type: 'a' }, { type: 'b' }])).toEqual(['b', 'a']);
    expect(authorizationDetailsTypes(null)).toEqual([]);
  });
});
