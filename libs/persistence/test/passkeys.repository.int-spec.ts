import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuthenticatedClient, NewPasskey } from '@ciba/domain';
import {
  TypeOrmAuthRequestRepository,
  TypeOrmClientRepository,
  TypeOrmEnrolmentTokenRepository,
  TypeOrmPasskeyRepository,
  TypeOrmUserRepository,
  TypeOrmWebAuthnChallengeRepository,
  createScratchDatabase,
  type ScratchDatabase,
} from '../src/index.js';
import { aClient, anAuthRequest, at, registeredClient } from './fixtures.js';

describe('passkey step-up persistence', () => {
  let db: ScratchDatabase;
  let passkeys: TypeOrmPasskeyRepository;
  let links: TypeOrmEnrolmentTokenRepository;
  let client: AuthenticatedClient;

  const aPasskey = (overrides: Partial<NewPasskey> = {}): NewPasskey => ({
    id: randomUUID(),
    subject: 'alice',
    credentialId: `cred-${randomUUID()}`,
    publicKey: new Uint8Array([0xa5, 0x01, 0x02, 0x03, 0x26]),
    signCount: 0,
    transports: ['internal', 'hybrid'],
    backedUp: true,
    label: 'Chrome on Android',
    ...overrides,
  });

  /** An unused enrolment link for `subject`, valid until at(60). */
  async function link(subject = 'alice'): Promise<string> {
    const tokenHash = `link-${randomUUID()}`;
    await links.save({ tokenHash, subject, sentVia: 'email', expiresAt: at(60) });
    return tokenHash;
  }

  beforeAll(async () => {
    db = await createScratchDatabase();
    passkeys = new TypeOrmPasskeyRepository(db.dataSource);
    links = new TypeOrmEnrolmentTokenRepository(db.dataSource);
    const users = new TypeOrmUserRepository(db.dataSource);
    for (const sub of ['alice', 'bob']) {
      await users.upsert({ sub, name: null, email: null, emailVerified: false, phoneNumber: null, phoneNumberVerified: false, channelPreference: null });
    }
    client = await registeredClient(db.dataSource);
  });
  afterAll(async () => {
    await db.drop();
  });

  describe('clients and requests', () => {
    it("stores a client's default_acr_values", async () => {
      const clients = new TypeOrmClientRepository(db.dataSource);
      const registered = aClient({ defaultAcrValues: ['phrh', 'phr'] });
      await clients.upsert(registered);
      expect((await clients.findById(registered.clientId))?.defaultAcrValues).toEqual(['phrh', 'phr']);
      await clients.upsert({ ...registered, defaultAcrValues: [] });
      expect((await clients.findById(registered.clientId))?.defaultAcrValues).toEqual([]);
    });

    it('records the acr and amr of a step-up approval with the decision; a plain approval has neither', async () => {
      const requests = new TypeOrmAuthRequestRepository(db.dataSource);
      const stepped = anAuthRequest(client.clientId, { acrValues: ['phr'] });
      const plain = anAuthRequest(client.clientId);
      await requests.create(stepped);
      await requests.create(plain);
      expect(await requests.decide(stepped.id, { kind: 'approve', stepUp: { acr: 'phr', amr: ['pop', 'user', 'mfa'] } }, at(1))).toMatchObject({
        status: 'approved',
        acr: 'phr',
        amr: ['pop', 'user', 'mfa'],
      });
      expect(await requests.decide(plain.id, { kind: 'approve' }, at(1))).toMatchObject({ status: 'approved', acr: null, amr: [] });
    });
  });

  describe('enrolment links', () => {
    it('can add one passkey and register one device, independently; inspecting uses neither', async () => {
      const tokenHash = await link();
      expect(await links.inspect(tokenHash, at(1))).toEqual({ subject: 'alice', deviceOpen: true, passkeyOpen: true });
      expect((await passkeys.registerWithEnrolmentLink(aPasskey(), tokenHash, at(2))).kind).toBe('registered');
      expect(await links.inspect(tokenHash, at(3))).toEqual({ subject: 'alice', deviceOpen: true, passkeyOpen: false });
      // The device use is untouched by the passkey.
      expect(await links.peek(tokenHash, at(3))).toBe('alice');
      expect(await links.consume(tokenHash, at(4))).toBe('alice');
      expect(await links.inspect(tokenHash, at(5))).toBeNull();
    });

    it('a link used for a device can still add its passkey; an expired one can do nothing', async () => {
      const tokenHash = await link();
      expect(await links.consume(tokenHash, at(1))).toBe('alice');
      expect(await links.inspect(tokenHash, at(2))).toEqual({ subject: 'alice', deviceOpen: false, passkeyOpen: true });
      expect(await links.inspect(tokenHash, at(60))).toBeNull();
      expect((await passkeys.registerWithEnrolmentLink(aPasskey(), tokenHash, at(60))).kind).toBe('link_used');
    });
  });

  describe('passkeys', () => {
    it('one passkey per link: of two concurrent registrations one wins, and only it is stored', async () => {
      const tokenHash = await link();
      const results = await Promise.all([passkeys.registerWithEnrolmentLink(aPasskey(), tokenHash, at(1)), passkeys.registerWithEnrolmentLink(aPasskey(), tokenHash, at(1))]);
      expect(results.map((r) => r.kind).sort()).toEqual(['link_used', 'registered']);
    });

    it("refuses another user's link", async () => {
      const tokenHash = await link('bob');
      expect((await passkeys.registerWithEnrolmentLink(aPasskey({ subject: 'alice' }), tokenHash, at(1))).kind).toBe('link_used');
    });

    it('refuses a credential id registered before (to anyone) and leaves the link unused', async () => {
      const first = aPasskey({ subject: 'bob' });
      expect((await passkeys.registerWithEnrolmentLink(first, await link('bob'), at(1))).kind).toBe('registered');
      const tokenHash = await link();
      expect((await passkeys.registerWithEnrolmentLink(aPasskey({ credentialId: first.credentialId }), tokenHash, at(2))).kind).toBe('duplicate');
      expect((await links.inspect(tokenHash, at(3)))?.passkeyOpen).toBe(true);
    });

    it('reads back the public key, counter, transports and flags; lists and finds only the owner\'s', async () => {
      const stored = aPasskey({ subject: 'bob', signCount: 4_000_000_000, backedUp: false });
      const outcome = await passkeys.registerWithEnrolmentLink(stored, await link('bob'), at(1));
      expect(outcome).toEqual({
        kind: 'registered',
        passkey: { ...stored, publicKey: stored.publicKey, createdAt: at(1), lastUsedAt: null },
      });
      expect(await passkeys.find('bob', stored.credentialId)).toMatchObject({ id: stored.id, signCount: 4_000_000_000, transports: ['internal', 'hybrid'] });
      expect(await passkeys.find('alice', stored.credentialId)).toBeNull();
      expect((await passkeys.list('bob')).map((p) => p.id)).toContain(stored.id);
      expect((await passkeys.list('alice')).map((p) => p.id)).not.toContain(stored.id);
    });

    it('records a use only from the counter it was verified against: a concurrent use loses', async () => {
      const stored = aPasskey({ signCount: 7 });
      await passkeys.registerWithEnrolmentLink(stored, await link(), at(1));
      const results = await Promise.all([passkeys.recordUse(stored.id, 7, 8, at(2)), passkeys.recordUse(stored.id, 7, 9, at(2))]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await passkeys.recordUse(stored.id, 7, 10, at(3))).toBe(false);
      expect((await passkeys.find('alice', stored.credentialId))?.lastUsedAt).toEqual(at(2));
    });

    it("revokes only the owner's passkey, once", async () => {
      const stored = aPasskey();
      await passkeys.registerWithEnrolmentLink(stored, await link(), at(1));
      expect(await passkeys.revoke('bob', stored.id)).toBe(false);
      expect(await passkeys.revoke('alice', stored.id)).toBe(true);
      expect(await passkeys.revoke('alice', stored.id)).toBe(false);
      expect(await passkeys.find('alice', stored.credentialId)).toBeNull();
    });
  });

  describe('WebAuthn challenges', () => {
    const challenges = () => new TypeOrmWebAuthnChallengeRepository(db.dataSource);
    const record = (challengeHash: string, bindingHash: string, createdAt = at(0)) => ({
      challengeHash,
      ceremony: 'authentication' as const,
      bindingHash,
      subject: 'alice',
      createdAt,
      expiresAt: new Date(createdAt.getTime() + 60_000),
    });

    it('are single use: of two concurrent uses one gets the subject', async () => {
      await challenges().issue(record('c1', 'b1'), 5);
      const results = await Promise.all([challenges().consume('c1', 'authentication', 'b1', at(1)), challenges().consume('c1', 'authentication', 'b1', at(1))]);
      expect(results.filter((r) => r === 'alice')).toHaveLength(1);
    });

    it('answer only for their ceremony and binding, and only before they expire', async () => {
      await challenges().issue(record('c2', 'b2'), 5);
      expect(await challenges().consume('c2', 'registration', 'b2', at(1))).toBeNull();
      expect(await challenges().consume('c2', 'authentication', 'other-link', at(1))).toBeNull();
      expect(await challenges().consume('c2', 'authentication', 'b2', at(60))).toBeNull();
    });

    it('keep at most the newest few per binding and drop expired ones as new ones are issued', async () => {
      for (let i = 0; i < 4; i++) await challenges().issue(record(`cap-${i}`, 'b3', at(i)), 3);
      expect(await challenges().consume('cap-0', 'authentication', 'b3', at(5))).toBeNull();
      for (const kept of ['cap-1', 'cap-2', 'cap-3']) expect(await challenges().consume(kept, 'authentication', 'b3', at(5))).toBe('alice');

      await challenges().issue(record('old', 'b4', at(0)), 3);
      await challenges().issue(record('new', 'b5', at(120)), 3);
      const [{ n }] = await db.dataSource.query<{ n: string }[]>(`SELECT count(*) AS n FROM webauthn_challenges WHERE challenge_hash = 'old'`);
      expect(n).toBe('0');
    });
  });
});
