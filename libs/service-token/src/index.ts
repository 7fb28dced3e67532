export * from './token.module.js';
export * from './token-issuer.js';
