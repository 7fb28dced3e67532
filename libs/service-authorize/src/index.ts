export * from './authorize.module.js';
export * from './backchannel-authentication.service.js';
