import { Logger } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { Server } from '@nestjs/microservices';
import type { CustomTransportStrategy } from '@nestjs/microservices';
import { headers } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { ConsumerMessages, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import {
  consumerDefinition,
  deadLetterSubjectFor,
  DEFAULT_TOPOLOGY,
  eventTypeOfSubject,
  HEADERS,
} from '../catalogue.js';
import type { BusTopology, ConsumerDefinition } from '../catalogue.js';
import { type BusTracing, NO_BUS_TRACING } from '../bus-tracing.js';
import { ConsumerDispatch } from '../consumer-dispatch.js';
import { describeSettlement, InFlight, Slots } from '../handler-dispatch.js';
import type { BusServerOptions, Delivery } from '../handler-dispatch.js';
import { decodeLifecycleEvent } from '../lifecycle-event.schema.js';
import { retryPolicyFor } from '../settlement.js';
import { type NatsAuth, type NatsTls, connectNats, ensureStreams } from './jetstream-connection.js';

export interface JetStreamServerOptions extends BusServerOptions {
  readonly servers: string | readonly string[];
  readonly auth?: NatsAuth;
  readonly tls?: NatsTls | null;
  readonly connectTimeoutMs?: number;
  /** Connection name; defaults to `ciba-<consumers>`. */
  readonly name?: string;
  /** Create/update streams and consumers on listen. Default true. */
  readonly ensureTopology?: boolean;
  /** A span per message handled, continuing the publisher's trace (its context in the headers). */
  readonly tracing?: BusTracing;
}

/** Pass as `@EventPattern(pattern, JETSTREAM_TRANSPORT)` to bind a handler to this transport only (hybrid apps). */
export const JETSTREAM_TRANSPORT: unique symbol = Symbol.for('ciba:jetstream');

export type JetStreamServerStatus = 'connecting' | 'connected' | 'disconnected' | 'reconnecting' | 'closed';
type JetStreamServerEvents = { error: (error: unknown) => void };

/**
 * Nest transport over JetStream durable pull consumers. Each `@EventPattern('<event type>')` handler
 * receives the parsed `LifecycleEvent` and a `BusContext`. Resolving acks; throwing naks with the
 * consumer's retry curve; `PermanentError`, malformed messages and the last allowed delivery go to
 * the dead-letter stream (`<dlq prefix>.<consumer>.<type>`, header `x-dead-letter-reason`) and are
 * terminated.
 */
export class JetStreamServer
  extends Server<JetStreamServerEvents, JetStreamServerStatus>
  implements CustomTransportStrategy
{
  override readonly transportId = JETSTREAM_TRANSPORT;
  // Nest must hand handler failures back to us rather than only log them.
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger: LoggerService;

  private readonly topology: BusTopology;
  private readonly definitions: readonly ConsumerDefinition[];
  private readonly maxInFlight: number;
  private readonly inFlight = new InFlight();
  private readonly listeners: Array<(error: unknown) => void> = [];
  private connection: NatsConnection | null = null;
  private subscriptions: ConsumerMessages[] = [];
  private loops: Promise<void>[] = [];
  private closing = false;

  constructor(private readonly options: JetStreamServerOptions) {
    super();
    this.topology = options.topology ?? DEFAULT_TOPOLOGY;
    this.definitions = options.consumers.map((name) => consumerDefinition(name, this.topology));
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 8);
    this.logger = options.logger ?? new Logger(JetStreamServer.name);
  }

  async listen(callback: (...optionalParams: unknown[]) => unknown): Promise<void> {
    try {
      this._status$.next('connecting');
      const nc = await connectNats({
        servers: this.options.servers,
        name: this.options.name ?? `ciba-${this.options.consumers.join('-') || 'bus'}`,
        ...(this.options.auth ? { auth: this.options.auth } : {}),
        ...(this.options.tls ? { tls: this.options.tls } : {}),
        ...(this.options.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.options.connectTimeoutMs } : {}),
      });
      this.connection = nc;
      void this.watchStatus(nc);
      if (this.options.ensureTopology ?? true) await ensureStreams(await jetstreamManager(nc), this.topology);
      const js = jetstream(nc);
      for (const definition of this.definitions) {
        const policy = retryPolicyFor(definition, this.options.retry);
        const inFlight = definition.maxInFlight ?? this.maxInFlight;
        const dispatch = new ConsumerDispatch(definition.name, (pattern) => this.getHandlerByPattern(pattern), policy, inFlight, definition.batchLingerMs);
        const consumer = await js.consumers.get(this.topology.lifecycleStream.name, definition.name);
        const messages = await consumer.consume({ max_messages: inFlight });
        this.subscriptions.push(messages);
        this.loops.push(this.consumeLoop(js, definition, dispatch, messages, inFlight));
      }
      this._status$.next('connected');
      callback();
    } catch (error) {
      await this.connection?.close().catch(() => undefined);
      this.connection = null;
      callback(error);
    }
  }

  /** Stops pulling, waits for running handlers, then drains the connection. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await Promise.allSettled(this.subscriptions.map((messages) => messages.close()));
    await Promise.allSettled(this.loops);
    await this.inFlight.drained();
    const nc = this.connection;
    this.connection = null;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => undefined);
    this._status$.next('closed');
  }

  on<EventKey extends keyof JetStreamServerEvents = keyof JetStreamServerEvents>(
    event: EventKey,
    callback: JetStreamServerEvents[EventKey],
  ): void {
    if (event === 'error') this.listeners.push(callback);
  }

  unwrap<T>(): T {
    if (!this.connection) throw new Error('JetStreamServer is not listening');
    return this.connection as T;
  }

  /**
   * A slot per message: each starts as soon as a slot is free and settles on its own, so a slow
   * handler never holds up the messages pulled with it. The pull keeps `inFlight` more buffered.
   */
  private async consumeLoop(
    js: JetStreamClient,
    definition: ConsumerDefinition,
    dispatch: ConsumerDispatch,
    messages: ConsumerMessages,
    inFlight: number,
  ): Promise<void> {
    const slots = new Slots(inFlight);
    try {
      for await (const msg of messages) {
        const waited = !this.closing && !slots.tryAcquire();
        if (waited) await slots.acquire();
        if (this.closing) {
          // Pulled but not started: hand it straight back so another instance can take it.
          msg.nak();
          continue;
        }
        void this.inFlight.track(this.process(js, definition, dispatch, msg, waited).finally(() => slots.release()));
      }
    } catch (error) {
      if (!this.closing) this.emitError(error);
    }
  }

  private async process(js: JetStreamClient, definition: ConsumerDefinition, dispatch: ConsumerDispatch, msg: JsMsg, waited: boolean) {
    const delivery: Delivery = {
      consumer: definition.name,
      subject: msg.subject,
      deliveryCount: msg.info.deliveryCount,
      correlationId: msg.headers?.get(HEADERS.correlationId) || null,
      subjectType: eventTypeOfSubject(msg.subject, this.topology),
      decode: () => decodeLifecycleEvent(msg.data),
    };
    if (!dispatch.handles(delivery.subjectType)) {
      // Nothing here handles this event type (nats-server 2.9 has no multi-filter consumers): acknowledged unread.
      msg.ack();
      return;
    }
    // Tell the server the message is being worked on (+WPI restarts its ack wait), so that a slow
    // handler — a callback to a slow endpoint — is not redelivered meanwhile: at once when the
    // message had to wait in the pull buffer for a free slot, then several times per ack wait, so
    // that a busy event loop does not miss the deadline.
    if (waited) msg.working();
    const keepAlive = setInterval(() => msg.working(), Math.max(250, definition.ackWaitMs / 3));
    const started = performance.now();
    try {
      const traced = { subject: msg.subject, consumer: definition.name, deliveryCount: delivery.deliveryCount, header: (key: string) => msg.headers?.get(key) };
      const result = await (this.options.tracing ?? NO_BUS_TRACING).process(traced, () => dispatch.dispatch(delivery));
      const { settlement } = result;
      this.options.observer?.settled(delivery.consumer, settlement.action, performance.now() - started);
      switch (settlement.action) {
        case 'ack':
          msg.ack();
          this.logger.debug?.(describeSettlement(delivery, result));
          return;
        case 'retry':
          msg.nak(settlement.delayMs);
          this.logger.warn(describeSettlement(delivery, result));
          return;
        case 'dead-letter':
          await this.deadLetter(js, definition, msg, settlement.reason, result.event?.type);
          msg.term();
          this.logger.error(describeSettlement(delivery, result));
          return;
      }
    } catch (error) {
      // Settlement itself failed (e.g. the dead-letter publish): leave the message to redelivery.
      this.emitError(error);
      msg.nak(retryPolicyFor(definition, this.options.retry).baseDelayMs);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async deadLetter(
    js: JetStreamClient,
    definition: ConsumerDefinition,
    msg: JsMsg,
    reason: string,
    type: string | undefined,
  ): Promise<void> {
    const hdrs = headers();
    const correlationId = msg.headers?.get(HEADERS.correlationId);
    if (correlationId) hdrs.set(HEADERS.correlationId, correlationId);
    hdrs.set(HEADERS.deadLetterReason, reason);
    hdrs.set(HEADERS.deadLetterConsumer, definition.name);
    hdrs.set(HEADERS.originalSubject, msg.subject);
    hdrs.set(HEADERS.deliveryCount, String(msg.info.deliveryCount));
    const originalId = msg.headers?.get(HEADERS.messageId) || `seq-${msg.info.streamSequence}`;
    const suffix = type ?? eventTypeOfSubject(msg.subject, this.topology) ?? 'unknown';
    await js.publish(deadLetterSubjectFor(definition.name, suffix, this.topology), msg.data, {
      // Deterministic, so dead-lettering twice after a crash stores one copy.
      msgID: `${definition.name}:${originalId}`,
      headers: hdrs,
    });
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') this._status$.next('disconnected');
      else if (status.type === 'reconnecting') this._status$.next('reconnecting');
      else if (status.type === 'reconnect') this._status$.next('connected');
      else if (status.type === 'error') this.emitError(status.error);
    }
  }

  private emitError(error: unknown): void {
    // As an `err` field, so the logging serializer keeps a database error's input (bound values,
    // quoted text) out of the line; a bare stack string would carry the message whole.
    this.logger.error({ err: error }, 'bus error');
    for (const listener of this.listeners) listener(error);
  }
}
