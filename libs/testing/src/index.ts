export { createTestDatabase } from './test-database.js';
export type { TestDatabase } from './test-database.js';
export { waitFor } from './wait-for.js';
export type { WaitForOptions } from './wait-for.js';
