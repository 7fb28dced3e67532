/**
 * Scopes that are administrative rights of a client rather than access a user grants: the audit
 * API's. A client holds one only when an operator registers it so (the bootstrap file); dynamic
 * registration refuses them whatever `CIBA_SCOPES` lists, so no self-registered client can read the
 * audit or write to it.
 */
export const AUDIT_READ_SCOPE = 'ciba:audit.read';
export const AUDIT_REPORT_SCOPE = 'ciba:audit.report';
export const ADMINISTRATIVE_SCOPES: readonly string[] = [AUDIT_READ_SCOPE, AUDIT_REPORT_SCOPE];
