import { describe, expect, it } from '@jest/globals';
import { parseBootstrap } from './bootstrap-file.js';

const client = { client_id: 'c1', client_secret: 'long-enough-secret' };

describe('bootstrap file: authorization_details_types', () => {
  it('RFC 9396 §10 registers no type by default', () => {
    expect(parseBootstrap({ clients: [client] }).clients[0].authorization_details_types).toEqual([]);
  });

  it('RFC 9396 §10 reads the types a client registers', () => {
    const data = parseBootstrap({ clients: [{ ...client, authorization_details_types: ['payment_initiation', 'account_information'] }] });
    expect(data.clients[0].authorization_details_types).toEqual(['payment_initiation', 'account_information']);
  });

  it.each([
    [['payment_initiation', 'payment_initiation'], /twice/],
    [[''], /authorization_details_types/],
    ['payment_initiation', /authorization_details_types/],
    [[42], /authorization_details_types/],
  ])('RFC 9396 §10 refuses %p', (types, message) => {
    expect(() => parseBootstrap({ clients: [{ ...client, authorization_details_types: types }] })).toThrow(message);
  });
});
