export { createTestDatabase } from './test-database.js';
export type { TestDatabase } from './test-database.js';
export { waitFor } from './wait-for.js';
export type { WaitForOptions } from './wait-for.js';
export { DeviceEmulator, freePort } from './device-emulator.js';
export type { ReceivedNotification } from './device-emulator.js';
export { SettableClock } from './settable-clock.js';
export { ClientReceiver } from './client-receiver.js';
export type { ReceivedCallback, ScriptedResponse } from './client-receiver.js';
