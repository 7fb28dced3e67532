import { describe, expect, it } from '@jest/globals';
import { SentDecisionTokens } from './sent-decision-tokens.js';

const at = (seconds: number) => new Date(Date.UTC(2030, 0, 1) + seconds * 1000);
const sent = (requestId: string, expiresAtSecond: number) => ({ requestId, expiresAt: at(expiresAtSecond) });

describe('sent decision tokens: the request behind a token this process sent, until it is decided or expires', () => {
  it('finds a remembered token until its request expires, and not after it is forgotten', () => {
    const tokens = new SentDecisionTokens();
    tokens.remember('h1', sent('r1', 300), at(0));
    tokens.remember('h2', sent('r2', 300), at(0));
    expect(tokens.find('h1', at(299))).toEqual(sent('r1', 300));
    expect(tokens.find('h1', at(300))).toBeNull();
    tokens.forget('h2');
    expect(tokens.find('h2', at(1))).toBeNull();
    expect(tokens.find('unknown', at(1))).toBeNull();
  });

  it('stays bounded: the oldest entry goes when full, and expired ones at the front go as new ones come', () => {
    const tokens = new SentDecisionTokens(2);
    tokens.remember('h1', sent('r1', 300), at(0));
    tokens.remember('h2', sent('r2', 300), at(0));
    tokens.remember('h3', sent('r3', 300), at(0));
    expect([tokens.find('h1', at(1)), tokens.size]).toEqual([null, 2]);

    const expiring = new SentDecisionTokens(10);
    expiring.remember('h1', sent('r1', 10), at(0));
    expiring.remember('h2', sent('r2', 10), at(0));
    expiring.remember('h3', sent('r3', 300), at(20));
    expect(expiring.size).toBe(1);
  });
});
