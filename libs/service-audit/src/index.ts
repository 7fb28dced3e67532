export * from './audit.module.js';
export * from './chain/audit-chain-verifier.js';
export * from './chain/audit-checkpoint.js';
export * from './chain/audit-checkpointer.js';
export * from './evidence/evidence-merge.js';
export * from './evidence/evidence-assembler.js';
export * from './chain/audit-checkpoint.scheduler.js';
export * from './evidence/trail-payload.js';
export { auditRecordOf } from './audit.handler.js';
