export * from './random.js';
export * from './secret-hasher.js';
export * from './key-encryption.js';
export * from './key-store.js';
export * from './token-minter.js';
export * from './id-token-hint.js';
export * from './auth-req-id.js';
