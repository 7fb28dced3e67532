import { describe, expect, it } from '@jest/globals';
import { normalisePhoneNumber } from './user.mapper.js';

describe('normalisePhoneNumber', () => {
  it.each([
    ['+1 555-0100', '+15550100'],
    ['+44 (20) 7946.0000', '+442079460000'],
    ['\t+33 1 23 45 67 89 ', '+33123456789'],
    ['alice@example.com', 'alice@examplecom'],
    [' - ', ''],
  ])('%j → %j', (input, expected) => {
    expect(normalisePhoneNumber(input)).toBe(expected);
  });
});
