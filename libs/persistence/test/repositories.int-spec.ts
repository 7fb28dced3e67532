import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AuditRecord, SigningKeyRecord, User } from '@ciba/domain';
import {
  TypeOrmAuditRepository,
  TypeOrmAuthRequestRepository,
  TypeOrmClientRepository,
  TypeOrmDecisionTokenRepository,
  TypeOrmSigningKeyRepository,
  TypeOrmUserRepository,
} from '../src/index.js';
import { createScratchDatabase as createTestDatabase } from '../src/index.js';
import { waitFor } from './wait-for.js';
import type { ScratchDatabase as TestDatabase } from '../src/index.js';
import { aClient, anAuthRequest, at, registeredClient } from './fixtures.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('TypeOrmClientRepository', () => {
  it('upserts, finds and lists clients', async () => {
    const repository = new TypeOrmClientRepository(db.dataSource);
    const client = aClient({
      clientId: 'aaa-client',
      backchannelTokenDeliveryMode: 'ping',
      backchannelClientNotificationEndpoint: 'https://rp.example/cb',
      backchannelUserCodeParameter: true,
      idTokenSignedResponseAlg: 'ES256',
      authorizationDetailsTypes: ['payment_initiation', 'account_information'],
    });
    await repository.upsert(client);
    await expect(repository.findById('aaa-client')).resolves.toEqual(client);

    const renamed = { ...client, clientName: 'Renamed', scope: ['openid'], authorizationDetailsTypes: ['account_information'] };
    await repository.upsert(renamed);
    await expect(repository.findById('aaa-client')).resolves.toEqual(renamed);

    await expect(repository.findById('unknown')).resolves.toBeNull();
    const listed = await repository.list();
    expect(listed.find((c) => c.clientId === 'aaa-client')).toEqual(renamed);
    expect(listed.map((c) => c.clientId)).toEqual([...listed.map((c) => c.clientId)].sort());
  });

  it('RFC 9396 §10 lists every registered authorization_details type once, sorted', async () => {
    const repository = new TypeOrmClientRepository(db.dataSource);
    await repository.upsert(aClient({ clientId: 'rar-1', authorizationDetailsTypes: ['payment_initiation', 'account_information'] }));
    await repository.upsert(aClient({ clientId: 'rar-2', authorizationDetailsTypes: ['account_information', 'tax_filing'] }));
    await repository.upsert(aClient({ clientId: 'rar-none' }));
    const types = await repository.authorizationDetailsTypes();
    expect(types).toEqual([...new Set(types)].sort());
    expect(types).toEqual(expect.arrayContaining(['account_information', 'payment_initiation', 'tax_filing']));
  });
});

describe('TypeOrmUserRepository', () => {
  const user = (overrides: Partial<User>): User => ({
    sub: `sub-${randomUUID()}`,
    name: null,
    email: null,
    emailVerified: false,
    phoneNumber: null,
    phoneNumberVerified: false,
    channelPreference: null,
    ...overrides,
  });
  let repository: TypeOrmUserRepository;
  const alice = user({ sub: 'alice', name: 'Alice', email: 'Alice@Example.com', emailVerified: true, phoneNumber: '+1 555-0100' });
  const bob = user({ sub: 'bob', email: 'bob@example.com', phoneNumber: '+15550111' });
  // Carol's email is Bob's sub: the sub wins.
  const carol = user({ sub: 'carol', email: 'bob' });
  const twinA = user({ email: 'shared@example.com', phoneNumber: '+44 20 7946 0000' });
  const twinB = user({ email: 'SHARED@example.com', phoneNumber: '+442079460000' });

  beforeAll(async () => {
    repository = new TypeOrmUserRepository(db.dataSource);
    for (const u of [alice, bob, carol, twinA, twinB]) await repository.upsert(u);
  });

  it('finds by sub and upserts', async () => {
    await expect(repository.findBySub('alice')).resolves.toEqual(alice);
    await repository.upsert({ ...alice, name: 'Alice A.' });
    await expect(repository.findBySub('alice')).resolves.toMatchObject({ name: 'Alice A.' });
    await repository.upsert(alice);
    await expect(repository.findBySub('nobody')).resolves.toBeNull();
  });

  it('CIBA §7.1 login_hint: sub exactly, then email case-insensitively, then phone number ignoring separators', async () => {
    await expect(repository.findByLoginHint('alice')).resolves.toEqual(alice);
    await expect(repository.findByLoginHint('ALICE@example.COM')).resolves.toEqual(alice);
    await expect(repository.findByLoginHint('+15550100')).resolves.toEqual(alice);
    await expect(repository.findByLoginHint('+1 555 0111')).resolves.toEqual(bob);
    await expect(repository.findByLoginHint('+1-555-0111')).resolves.toEqual(bob);
    await expect(repository.findByLoginHint('bob')).resolves.toEqual(bob);
  });

  it('does not match a sub case-insensitively, nor part of a value', async () => {
    await expect(repository.findByLoginHint('ALICE')).resolves.toBeNull();
    await expect(repository.findByLoginHint('example.com')).resolves.toBeNull();
    await expect(repository.findByLoginHint('5550100')).resolves.toBeNull();
    await expect(repository.findByLoginHint('  ')).resolves.toBeNull();
    await expect(repository.findByLoginHint('--')).resolves.toBeNull();
  });

  it('returns null rather than guess when an email or phone number matches several users', async () => {
    await expect(repository.findByLoginHint('shared@example.com')).resolves.toBeNull();
    await expect(repository.findByLoginHint('+44 (20) 7946-0000')).resolves.toBeNull();
  });
});

describe('TypeOrmDecisionTokenRepository', () => {
  let repository: TypeOrmDecisionTokenRepository;
  let requestId: string;

  beforeAll(async () => {
    repository = new TypeOrmDecisionTokenRepository(db.dataSource);
    const client = await registeredClient(db.dataSource);
    const request = anAuthRequest(client.clientId);
    await new TypeOrmAuthRequestRepository(db.dataSource).create(request);
    requestId = request.id;
  });

  it('saves idempotently (the first record wins) and finds by hash', async () => {
    await repository.save({ tokenHash: 'h-1', requestId, channel: 'email', expiresAt: at(60) });
    await repository.save({ tokenHash: 'h-1', requestId, channel: 'sms', expiresAt: at(999) });
    await expect(repository.find('h-1')).resolves.toEqual({ tokenHash: 'h-1', requestId, channel: 'email', expiresAt: at(60), usedAt: null, decision: null });
    await expect(repository.find('unknown')).resolves.toBeNull();
  });
  // Using a token (with the decision, in one statement): decision-tokens.repository.int-spec.ts.
});

describe('TypeOrmSigningKeyRepository', () => {
  let repository: TypeOrmSigningKeyRepository;
  const key = (kid: string, createdAt: Date): SigningKeyRecord => ({
    kid,
    alg: 'ES256',
    publicJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid },
    encryptedPrivateJwk: `enc:${kid}`,
    createdAt,
    retiredAt: null,
    unpublishAfter: null,
  });

  beforeAll(() => {
    repository = new TypeOrmSigningKeyRepository(db.dataSource);
  });

  it('inserts, lists published keys newest first, retires the others and unpublishes them later', async () => {
    await repository.insert(key('k1', at(0)));
    await repository.insert(key('k2', at(100)));
    await expect(repository.listPublished(at(200))).resolves.toEqual([key('k2', at(100)), key('k1', at(0))]);

    await repository.insert(key('k3', at(200)));
    await expect(repository.retireOthers(['k3'], at(200), at(300))).resolves.toBe(2);
    await expect(repository.retireOthers(['k3'], at(201), at(301))).resolves.toBe(0);

    const published = await repository.listPublished(at(250));
    expect(published.map((k) => k.kid)).toEqual(['k3', 'k2', 'k1']);
    expect(published[1]).toMatchObject({ retiredAt: at(200), unpublishAfter: at(300) });
    await expect(repository.listPublished(at(300))).resolves.toEqual([key('k3', at(200))]);
    await expect(repository.insert(key('k3', at(400)))).rejects.toThrow();
    // A rotation of every algorithm keeps each new key active.
    await repository.insert(key('k4', at(400)));
    await repository.insert(key('k5', at(400)));
    await expect(repository.retireOthers(['k4', 'k5'], at(400), at(500))).resolves.toBe(1);
    expect((await repository.listPublished(at(450))).filter((k) => k.retiredAt === null).map((k) => k.kid).sort()).toEqual(['k4', 'k5']);
  });

  it('advisory lock serializes two concurrent withLock calls', async () => {
    const events: string[] = [];
    const waitingForLock = async () => {
      const [row] = await db.dataSource.query(`SELECT count(*)::int AS n FROM pg_locks
          WHERE locktype = 'advisory' AND NOT granted
            AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`);
      return row.n > 0;
    };

    const first = repository.withLock('first-key', async () => {
      events.push('first:start');
      // Hold the lock until the second caller is observably blocked on it.
      await waitFor(waitingForLock);
      events.push('first:end');
      return 1;
    });
    await waitFor(() => events.includes('first:start'));
    const second = repository.withLock('first-key', () => {
      events.push('second:start');
      events.push('second:end');
      return Promise.resolve(2);
    });

    await expect(Promise.all([first, second])).resolves.toEqual([1, 2]);
    expect(events).toEqual(['first:start', 'first:end', 'second:start', 'second:end']);
  });

  it('releases the lock when work throws, and does not block other lock names', async () => {
    await expect(
      repository.withLock('failing', async () => {
        await expect(repository.withLock('other-name', () => Promise.resolve('independent'))).resolves.toBe('independent');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await expect(repository.withLock('failing', () => Promise.resolve('again'))).resolves.toBe('again');
  });
});

describe('TypeOrmAuditRepository', () => {
  it('appends idempotently by event id', async () => {
    const repository = new TypeOrmAuditRepository(db.dataSource);
    const requestId = randomUUID();
    const record: AuditRecord = {
      eventId: `${requestId}:auth_request.created`,
      type: 'auth_request.created',
      requestId,
      clientId: 'rp-1',
      subject: 'alice',
      occurredAt: at(1),
      correlationId: 'corr-1',
      payload: { deliveryMode: 'poll', scope: ['openid'], interval: 5 },
    };
    await expect(repository.append(record)).resolves.toBe(true);
    await expect(repository.append({ ...record, payload: { changed: true } })).resolves.toBe(false);
    const concurrent = await Promise.all(
      [1, 2, 3, 4, 5].map(() => repository.append({ ...record, eventId: `${requestId}:auth_request.approved`, type: 'auth_request.approved' })),
    );
    expect(concurrent.filter(Boolean)).toHaveLength(1);

    const trail = await repository.listForRequest(requestId);
    expect(trail).toHaveLength(2);
    expect(trail.find((r) => r.type === 'auth_request.created')).toEqual(record);
  });

  it('keeps device events: a device, no request, and a client only when one took part', async () => {
    const repository = new TypeOrmAuditRepository(db.dataSource);
    const deviceId = randomUUID();
    const registered: AuditRecord = {
      eventId: `${deviceId}:device.registered`,
      type: 'device.registered',
      requestId: null,
      clientId: 'rp-1',
      deviceId,
      subject: 'alice',
      occurredAt: at(1),
      correlationId: null,
      payload: { version: 1, kind: 'fcm', via: 'client' },
    };
    const revoked: AuditRecord = { ...registered, eventId: `${deviceId}:device.revoked`, type: 'device.revoked', clientId: null, occurredAt: at(2), payload: { version: 1, via: 'removal_link' } };
    await expect(repository.append(registered)).resolves.toBe(true);
    await expect(repository.append(revoked)).resolves.toBe(true);
    await expect(repository.append(revoked)).resolves.toBe(false);
    expect(await repository.listForDevice(deviceId)).toEqual([registered, revoked]);
  });

  it('appendMany stores several records in one statement, each once by event id, repeats (in the batch or before it) ignored', async () => {
    const repository = new TypeOrmAuditRepository(db.dataSource);
    const requestId = randomUUID();
    const deviceId = randomUUID();
    const record = (type: string, minute: number): AuditRecord => ({
      eventId: `${requestId}:${type}`,
      type,
      requestId,
      clientId: 'rp-1',
      subject: 'alice',
      occurredAt: at(minute),
      correlationId: minute === 1 ? 'corr-"quoted"\\' : null,
      payload: { version: 1, note: 'a "quoted", {braced} value' },
    });
    const device: AuditRecord = { eventId: `${deviceId}:device.registered`, type: 'device.registered', requestId: null, clientId: null, deviceId, subject: 'alice', occurredAt: at(4), correlationId: null, payload: { version: 1 } };
    const created = record('auth_request.created', 1);
    await repository.append(created);

    const approved = record('auth_request.approved', 2);
    const redeemed = record('auth_request.redeemed', 3);
    await expect(repository.appendMany([created, approved, redeemed, approved, device])).resolves.toBe(3);
    await expect(repository.appendMany([])).resolves.toBe(0);

    expect(await repository.listForRequest(requestId)).toEqual([created, approved, redeemed]);
    expect(await repository.listForDevice(deviceId)).toEqual([device]);
  });
});
