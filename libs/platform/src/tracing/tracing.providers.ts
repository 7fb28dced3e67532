import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import { FlowTracing, installedTracing } from './flow-tracing.js';

/** Exports the spans still buffered when the service shuts down. */
@Injectable()
class TracingShutdown implements OnApplicationShutdown {
  constructor(@Inject(FlowTracing) private readonly tracing: FlowTracing) {}

  async onApplicationShutdown(): Promise<void> {
    await this.tracing.shutdown();
  }
}

/** `FlowTracing`: the process's tracing (`NO_TRACING` unless `startTracing` started it), flushed at shutdown. */
export const tracingProviders: Provider[] = [{ provide: FlowTracing, useFactory: installedTracing }, TracingShutdown];
