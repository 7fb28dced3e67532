import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from '@jest/globals';
import { pinnedLookup } from './pinned-lookup.js';

type Answer = { error: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };

function ask(lookup: ReturnType<typeof pinnedLookup>, hostname: string, options: Parameters<ReturnType<typeof pinnedLookup>>[1]): Promise<Answer> {
  return new Promise((resolve) => lookup(hostname, options, (error, address, family) => resolve({ error, address, family })));
}

const addresses = [
  { address: '93.184.216.34', family: 4 },
  { address: '2606:4700::1111', family: 6 },
] as const;

describe('pinnedLookup', () => {
  it('answers every pinned address when asked for all (Happy Eyeballs)', async () => {
    expect(await ask(pinnedLookup('client.example.com', addresses), 'client.example.com', { all: true })).toEqual({
      error: null,
      address: [
        { address: '93.184.216.34', family: 4 },
        { address: '2606:4700::1111', family: 6 },
      ],
      family: undefined,
    });
  });

  it('answers the first pinned address otherwise, honouring a requested family', async () => {
    const lookup = pinnedLookup('client.example.com', addresses);
    expect(await ask(lookup, 'client.example.com', {})).toEqual({ error: null, address: '93.184.216.34', family: 4 });
    expect(await ask(lookup, 'CLIENT.example.com', { family: 6 })).toEqual({ error: null, address: '2606:4700::1111', family: 6 });
  });

  it('answers nothing for another host name or a family it has no address for', async () => {
    expect((await ask(pinnedLookup('client.example.com', addresses), 'metadata.internal', {})).error?.code).toBe('ENOTFOUND');
    expect((await ask(pinnedLookup('client.example.com', [addresses[0]]), 'client.example.com', { family: 6, all: true })).error?.code).toBe('ENOTFOUND');
  });
});
