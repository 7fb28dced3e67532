import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Module } from '@nestjs/common';
import { InProcessEventPublisher, defineTopology } from '@ciba/messaging';
import { AuditModule } from '@ciba/service-audit';
import { waitFor } from '@ciba/testing';
import { type BusTestBed, auditStorage, busTestBed, createdEvent } from './bus-harness.js';

/** The audit's batch statements: the trail's append, with the evidence records' write (`WITH appended AS (…)`) or without it (nothing to merge). */
const auditAppends = (bed: { count(prefix: string): number }): number => bed.count('INSERT INTO audit_records') + bed.count('WITH appended AS (INSERT INTO audit_records');

jest.setTimeout(60_000);

// A first retry a second after a failure: long enough to look at the state the failure left.
const topology = defineTopology({ consumers: { audit: { backoffMs: [1_000] } } });

/**
 * The audit consumer appends the events at hand in one INSERT … ON CONFLICT DO NOTHING, and the bus
 * acknowledges them only once that statement has committed.
 */
describe('audit trail: events appended in batches', () => {
  let bed: BusTestBed;
  let auditApp: ReturnType<typeof moduleWith>;
  function moduleWith(bed: BusTestBed) {
    @Module({ imports: [auditStorage(bed.db), AuditModule] })
    class AuditApp {}
    return AuditApp;
  }
  const sql = <T>(text: string, parameters: unknown[] = []) => bed.db.dataSource.query<T>(text, parameters);
  const stored = async (eventIds: readonly string[]) =>
    (await sql<{ n: number }[]>('SELECT count(*)::int AS n FROM audit_records WHERE event_id = ANY($1)', [eventIds]))[0].n;
  const queuedForAudit = async (messageIds: readonly string[]) =>
    sql<{ deliveries: number; leased: boolean }[]>(
      `SELECT deliveries, visible_at > now() AS leased FROM queued_messages WHERE consumer = 'audit' AND message_id = ANY($1)`,
      [messageIds],
    );
  /** Published by another process (as the admin tool does): stored for every consumer, handed to nobody. */
  const elsewhere = () => new InProcessEventPublisher({ store: bed.store, topology });

  beforeAll(async () => {
    bed = await busTestBed();
    auditApp = moduleWith(bed);
  });
  afterAll(async () => {
    await bed?.close();
  });

  it('N events at hand take fewer INSERT statements than N, and each is stored exactly once, its redeliveries included', async () => {
    const events = Array.from({ length: 20 }, () => createdEvent());
    for (const event of events) await elsewhere().publish(event);
    // The same events again under other message ids (a republish outside the duplicate window, an operator's redelivery).
    for (const event of events.slice(0, 8)) await elsewhere().publish(event, { messageId: `${event.eventId}:again` });
    const messageIds = [...events.map((event) => event.eventId), ...events.slice(0, 8).map((event) => `${event.eventId}:again`)];
    bed.statements.length = 0;

    const process = await bed.start({ consumers: ['audit'], module: auditApp, topology, maxInFlight: 8 });
    await waitFor(async () => (await queuedForAudit(messageIds)).length === 0, { description: 'every audit message acknowledged' });

    expect(await stored(events.map((event) => event.eventId))).toBe(20);
    const inserts = auditAppends(bed);
    expect(inserts).toBeGreaterThan(0);
    expect(inserts).toBeLessThan(messageIds.length);
    expect(bed.count('DELETE FROM queued_messages')).toBeLessThan(messageIds.length);
    await process.close();
  });

  it('nothing is acknowledged before it is stored: a failing batch insert leaves every message of it unacknowledged, and they are redelivered and stored once', async () => {
    const events = Array.from({ length: 6 }, () => createdEvent());
    const eventIds = events.map((event) => event.eventId);
    await sql(`CREATE FUNCTION fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
    await sql(`CREATE TRIGGER fail_audit BEFORE INSERT ON audit_records FOR EACH ROW WHEN (NEW.event_id = ANY('{${eventIds.join(',')}}')) EXECUTE FUNCTION fail_audit()`);
    for (const event of events) await elsewhere().publish(event);
    bed.statements.length = 0;

    const process = await bed.start({ consumers: ['audit'], module: auditApp, topology, maxInFlight: 8, pollIntervalMs: 50 });
    // Every message delivered once and handed back for a retry; none acknowledged, none stored.
    await waitFor(async () => (await queuedForAudit(eventIds)).filter((row) => row.deliveries === 1).length === 6 && bed.count('UPDATE queued_messages SET visible_at') === 6, {
      description: 'the failed batch handed back for a retry',
    });
    expect(auditAppends(bed)).toBe(1);
    expect(bed.count('DELETE FROM queued_messages')).toBe(0);
    expect(await stored(eventIds)).toBe(0);

    await sql('DROP TRIGGER fail_audit ON audit_records');
    await sql('DROP FUNCTION fail_audit()');
    await waitFor(async () => (await queuedForAudit(eventIds)).length === 0, { description: 'the retries acknowledged' });
    expect(await stored(eventIds)).toBe(6);
    await process.close();
  });
});
