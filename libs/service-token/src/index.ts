export * from './token.module.js';
export { INTROSPECTION_PATH, REVOCATION_PATH } from './token-lifecycle.controller.js';
export { USERINFO_PATH } from './userinfo.controller.js';
