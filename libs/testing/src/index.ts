export { createScratchDatabase as createTestDatabase } from '@ciba/persistence';
export type { ScratchDatabase as TestDatabase } from '@ciba/persistence';
export { waitFor } from './wait-for.js';
export type { WaitForOptions } from './wait-for.js';
export { DeviceEmulator, freePort } from './device-emulator.js';
export type { ReceivedNotification } from './device-emulator.js';
export { SettableClock } from './settable-clock.js';
export { ClientReceiver } from './client-receiver.js';
export type { ReceivedCallback, ScriptedResponse } from './client-receiver.js';
