import { AuditRecordEntity } from './audit/audit-record.entity.js';
import { EvidenceRecordEntity } from './audit/evidence-record.entity.js';
import { AuditChainHeadEntity, AuditCheckpointEntity } from './audit/audit-chain.entity.js';
import { AuthRequestEntity } from './auth-request/auth-request.entity.js';
import { CallbackDeliveryEntity } from './callback-delivery/callback-delivery.entity.js';
import { ClientEntity } from './client/client.entity.js';
import { ClientRegistrationEntity } from './client/client-registration.entity.js';
import { DecisionTokenEntity } from './decision-token/decision-token.entity.js';
import { DeadLetterEntity } from './queue/dead-letter.entity.js';
import { QueuedMessageEntity } from './queue/queued-message.entity.js';
import { RefreshTokenEntity } from './refresh-token/refresh-token.entity.js';
import { SigningKeyEntity } from './signing-key/signing-key.entity.js';
import { UserEntity } from './user/user.entity.js';
import { DeviceEntity } from './device/device.entity.js';
import { EnrolmentTokenEntity } from './device/enrolment-token.entity.js';
import { ClientUserPromptsEntity } from './notification/client-user-prompts.entity.js';
import { PasskeyEntity } from './passkey/passkey.entity.js';
import { WebAuthnChallengeEntity } from './passkey/webauthn-challenge.entity.js';
import { DeviceRemovalLinkEntity } from './device/device-removal-link.entity.js';
import { ClientPromptWindowEntity } from './notification/client-prompt-window.entity.js';
import { ClientAuthFailureEntity } from './client-auth/client-auth-failure.entity.js';
import { UserCodeAttemptEntity } from './user-code/user-code-attempt.entity.js';
import { PairwiseSubjectEntity } from './pairwise-subject/pairwise-subject.entity.js';
import { AccessTokenJtiEntity } from './access-token/access-token-jti.entity.js';
import { StepUpApprovalEntity } from './step-up/step-up-approval.entity.js';

/** Every entity, listed explicitly: no globs, so ESM and bundling need no file-system lookups. */
export const ENTITIES = [
  ClientEntity,
  ClientRegistrationEntity,
  UserEntity,
  AuthRequestEntity,
  DecisionTokenEntity,
  RefreshTokenEntity,
  SigningKeyEntity,
  AuditRecordEntity,
  EvidenceRecordEntity,
  AuditChainHeadEntity,
  AuditCheckpointEntity,
  QueuedMessageEntity,
  DeadLetterEntity,
  CallbackDeliveryEntity,
  DeviceEntity,
  EnrolmentTokenEntity,
  ClientUserPromptsEntity,
  PasskeyEntity,
  WebAuthnChallengeEntity,
  DeviceRemovalLinkEntity,
  ClientPromptWindowEntity,
  ClientAuthFailureEntity,
  UserCodeAttemptEntity,
  PairwiseSubjectEntity,
  AccessTokenJtiEntity,
  StepUpApprovalEntity,
] as const;
