export * from './callback-dispatcher.module.js';
export * from './callback-dispatcher.service.js';
export { CallbackMetrics } from './callback-metrics.js';
