export * from './token.module.js';
