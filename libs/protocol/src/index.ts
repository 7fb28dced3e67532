export * from './errors.js';
export * from './constants.js';
