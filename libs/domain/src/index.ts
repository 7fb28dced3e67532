export * from './auth-request/auth-request.js';
export * from './client/client.js';
export * from './user/user.js';
export * from './events/lifecycle-event.js';
export * from './ports/ports.js';
export * from './events/lifecycle-events.js';
export * from './auth-request/pending-poll-cache.js';
export * from './callback/callback-delivery.js';
