export * from './provider-config.js';
export * from './bootstrap-file.js';
export * from './limits-config.js';
export * from './hint-config.js';
export * from './webauthn-relying-party.js';
export * from './tracing-config.js';
export * from './registration-config.js';
