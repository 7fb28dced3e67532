import { describe, expect, it } from '@jest/globals';
import { LIFECYCLE_EVENT_TYPES } from '@ciba/domain';
import {
  consumerDefinition,
  consumersFor,
  deadLetterSubjectFor,
  DEFAULT_TOPOLOGY,
  defineTopology,
  eventTypeOfSubject,
  handlerPattern,
  handlerPatternsFor,
  LIFECYCLE_SUBJECT,
  subjectFor,
  subjectMatches,
} from './catalogue.js';
import { streamConfig } from './jetstream/jetstream-connection.js';

describe('catalogue', () => {
  it('streams keep one replica by default and as many as asked on a JetStream cluster', () => {
    expect(streamConfig(DEFAULT_TOPOLOGY.lifecycleStream).num_replicas).toBe(1);
    const clustered = defineTopology({ streamReplicas: 3 });
    expect(streamConfig(clustered.lifecycleStream).num_replicas).toBe(3);
    expect(streamConfig(clustered.deadLetterStream).num_replicas).toBe(3);
  });

  it('names the production streams, subjects and consumers', () => {
    expect(DEFAULT_TOPOLOGY.lifecycleStream).toMatchObject({ name: 'CIBA_LIFECYCLE', subjects: ['ciba.lifecycle.>'] });
    expect(DEFAULT_TOPOLOGY.deadLetterStream).toMatchObject({ name: 'CIBA_DEAD_LETTER', subjects: ['ciba.dlq.>'] });
    expect(DEFAULT_TOPOLOGY.lifecycleStream.duplicateWindowMs).toBe(120_000);
    expect(consumerDefinition('notifier')).toMatchObject({
      filterSubject: 'ciba.lifecycle.auth_request.created',
      maxDeliver: 8,
      ackWaitMs: 30_000,
    });
    expect(consumerDefinition('audit')).toMatchObject({ filterSubject: 'ciba.lifecycle.>', maxDeliver: 20 });
    expect(consumerDefinition('notifier-devices')).toMatchObject({ filterSubject: 'ciba.lifecycle.device.registered', maxDeliver: 12 });
    expect(() => consumerDefinition('nobody')).toThrow(/unknown durable consumer "nobody"/);
  });

  it('has one subject per event type', () => {
    expect(subjectFor('auth_request.created')).toBe('ciba.lifecycle.auth_request.created');
    expect(Object.keys(LIFECYCLE_SUBJECT)).toEqual([...LIFECYCLE_EVENT_TYPES]);
    for (const type of LIFECYCLE_EVENT_TYPES) {
      expect(LIFECYCLE_SUBJECT[type]).toBe(subjectFor(type));
      expect(eventTypeOfSubject(subjectFor(type))).toBe(type);
    }
    expect(eventTypeOfSubject('other.subject')).toBeNull();
    expect(deadLetterSubjectFor('notifier', 'auth_request.created')).toBe('ciba.dlq.notifier.auth_request.created');
  });

  it('is frozen', () => {
    expect(Object.isFrozen(DEFAULT_TOPOLOGY)).toBe(true);
    expect(Object.isFrozen(DEFAULT_TOPOLOGY.consumers[0])).toBe(true);
    expect(Object.isFrozen(DEFAULT_TOPOLOGY.consumers[0].backoffMs)).toBe(true);
    expect(Object.isFrozen(LIFECYCLE_SUBJECT)).toBe(true);
  });

  it('tells which durable consumers receive a subject', () => {
    expect(consumersFor(subjectFor('auth_request.created')).map((c) => c.name)).toEqual(['notifier', 'audit', 'callback-dispatcher']);
    expect(consumersFor(subjectFor('auth_request.approved')).map((c) => c.name)).toEqual(['audit', 'callback-dispatcher']);
    // A new device is announced to the user by the notifier and recorded by the audit service; its removal only audited.
    expect(consumersFor(subjectFor('device.registered')).map((c) => c.name)).toEqual(['audit', 'callback-dispatcher', 'notifier-devices']);
    expect(consumersFor(subjectFor('device.revoked')).map((c) => c.name)).toEqual(['audit', 'callback-dispatcher']);
    expect(consumersFor('ciba.dlq.notifier.auth_request.created')).toEqual([]);
  });

  it('matches NATS wildcards', () => {
    expect(subjectMatches('a.>', 'a.b')).toBe(true);
    expect(subjectMatches('a.>', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.>', 'a')).toBe(false);
    expect(subjectMatches('a.*.c', 'a.b.c')).toBe(true);
    expect(subjectMatches('a.*.c', 'a.b.d')).toBe(false);
    expect(subjectMatches('a.b', 'a.b.c')).toBe(false);
    expect(subjectMatches('a.b.c', 'a.b')).toBe(false);
  });

  it('builds isolated topologies with the same shape', () => {
    const topology = defineTopology({ prefix: 't1', consumers: { notifier: { maxDeliver: 3, backoffMs: [10] } } });
    expect(topology.lifecycleStream).toMatchObject({ name: 't1_CIBA_LIFECYCLE', subjects: ['t1.ciba.lifecycle.>'] });
    expect(topology.deadLetterStream).toMatchObject({ name: 't1_CIBA_DEAD_LETTER', subjects: ['t1.ciba.dlq.>'] });
    expect(subjectFor('auth_request.denied', topology)).toBe('t1.ciba.lifecycle.auth_request.denied');
    expect(consumerDefinition('notifier', topology)).toMatchObject({
      filterSubject: 't1.ciba.lifecycle.auth_request.created',
      maxDeliver: 3,
      backoffMs: [10],
      ackWaitMs: 30_000,
    });
    expect(consumersFor(subjectFor('auth_request.created', topology), topology)).toHaveLength(3);
    expect(consumersFor(subjectFor('auth_request.created'), topology)).toHaveLength(0);
    expect(() => defineTopology({ prefix: 'a.b' })).toThrow(/single subject token/);
  });

  it('qualifies handler patterns by consumer', () => {
    expect(handlerPattern('notifier', 'auth_request.created')).toBe('notifier:auth_request.created');
    expect(handlerPatternsFor('audit', 'auth_request.denied')).toEqual([
      'audit:auth_request.denied',
      'audit:*',
      'auth_request.denied',
    ]);
  });
});
