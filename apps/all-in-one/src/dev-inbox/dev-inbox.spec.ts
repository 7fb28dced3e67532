import { describe, expect, it } from '@jest/globals';
import { DevInbox, type NewInboxMessage } from './dev-inbox.js';

const message = (text: string): NewInboxMessage => ({ channel: 'sms', about: 'approval', to: '+15555550100', subject: null, text, html: null, links: [] });

describe('DevInbox', () => {
  it('lists messages newest first, each with its own id and the clock time', () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const inbox = new DevInbox({ now: () => now });
    const first = inbox.add(message('first'));
    now = new Date('2030-01-01T00:00:05Z');
    const second = inbox.add(message('second'));
    expect(inbox.list().map((m) => m.text)).toEqual(['second', 'first']);
    expect(first.id).not.toBe(second.id);
    expect(first.id).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(second.receivedAt).toEqual(now);
    expect(inbox.get(first.id)?.text).toBe('first');
    expect(inbox.get('unknown')).toBeNull();
  });

  it('keeps only the newest messages beyond its capacity', () => {
    const inbox = new DevInbox(undefined, 3);
    const added = ['a', 'b', 'c', 'd', 'e'].map((t) => inbox.add(message(t)));
    expect(inbox.list().map((m) => m.text)).toEqual(['e', 'd', 'c']);
    expect(inbox.get(added[0].id)).toBeNull();
  });

  it('hands out a copy: callers cannot change what it holds', () => {
    const inbox = new DevInbox();
    inbox.add(message('kept'));
    (inbox.list() as unknown[]).length = 0;
    expect(inbox.list()).toHaveLength(1);
  });
});
