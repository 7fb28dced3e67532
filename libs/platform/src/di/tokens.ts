/** Injection tokens for the domain ports; adapters are bound to them in `CoreModule`. */
export const PROVIDER_CONFIG = Symbol('ProviderConfig');
export const CLOCK = Symbol('Clock');
export const CLIENT_REPOSITORY = Symbol('ClientRepository');
export const USER_REPOSITORY = Symbol('UserRepository');
export const AUTH_REQUEST_REPOSITORY = Symbol('AuthRequestRepository');
export const DECISION_TOKEN_REPOSITORY = Symbol('DecisionTokenRepository');
export const REFRESH_TOKEN_REPOSITORY = Symbol('RefreshTokenRepository');
/** Revoked access tokens by jti (RFC 7009; persistence `PostgresAccessTokenRevocations`). */
export const ACCESS_TOKEN_REVOCATIONS = Symbol('AccessTokenRevocations');
export const AUDIT_REPOSITORY = Symbol('AuditRepository');
export const EVIDENCE_RECORD_REPOSITORY = Symbol('EvidenceRecordRepository');
/** Evidence records read back by filters, a keyset page at a time (the audit API; persistence `TypeOrmEvidenceRecordQuery`). */
export const EVIDENCE_RECORD_QUERY = Symbol('EvidenceRecordQuery');
/** The audit hash chain's head and signed checkpoints (persistence `TypeOrmAuditChain`). */
export const AUDIT_CHAIN = Symbol('AuditChain');
export const EVENT_PUBLISHER = Symbol('EventPublisher');
export const PENDING_POLL_CACHE = Symbol('PendingPollCache');
export const CALLBACK_DELIVERY_REPOSITORY = Symbol('CallbackDeliveryRepository');
export const DEVICE_REPOSITORY = Symbol('DeviceRepository');
export const ENROLMENT_TOKEN_REPOSITORY = Symbol('EnrolmentTokenRepository');
export const NOTIFICATION_LIMITER = Symbol('NotificationLimiter');
export const PASSKEY_REPOSITORY = Symbol('PasskeyRepository');
export const WEBAUTHN_CHALLENGE_REPOSITORY = Symbol('WebAuthnChallengeRepository');
export const CLIENT_AUTH_FAILURE_COUNTER = Symbol('ClientAuthFailureCounter');
export const PROMPT_CLAIMS = Symbol('PromptClaims');
export const DEFERRED_REQUEST_MARKERS = Symbol('DeferredRequestMarkers');
export const USER_CODE_STORE = Symbol('UserCodeStore');
export const USER_CODE_ATTEMPTS = Symbol('UserCodeAttempts');
export const CLIENT_REGISTRATIONS = Symbol('ClientRegistrations');
