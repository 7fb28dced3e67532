// Tracing first: OpenTelemetry patches http and pg as they load, so the service's modules are
// imported only once it has started (or found that it is off).
import { startTracing } from '@ciba/platform/tracing';

await startTracing('notifier');
await import('./service.js');
