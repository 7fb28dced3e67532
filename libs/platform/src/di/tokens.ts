/** Injection tokens for the domain ports; adapters are bound to them in `CoreModule`. */
export const PROVIDER_CONFIG = Symbol('ProviderConfig');
export const CLOCK = Symbol('Clock');
export const CLIENT_REPOSITORY = Symbol('ClientRepository');
export const USER_REPOSITORY = Symbol('UserRepository');
export const AUTH_REQUEST_REPOSITORY = Symbol('AuthRequestRepository');
export const DECISION_TOKEN_REPOSITORY = Symbol('DecisionTokenRepository');
export const REFRESH_TOKEN_REPOSITORY = Symbol('RefreshTokenRepository');
export const AUDIT_REPOSITORY = Symbol('AuditRepository');
export const EVENT_PUBLISHER = Symbol('EventPublisher');
export const PENDING_POLL_CACHE = Symbol('PendingPollCache');
export const CALLBACK_DELIVERY_REPOSITORY = Symbol('CallbackDeliveryRepository');
export const DEVICE_REPOSITORY = Symbol('DeviceRepository');
export const ENROLMENT_TOKEN_REPOSITORY = Symbol('EnrolmentTokenRepository');
export const NOTIFICATION_LIMITER = Symbol('NotificationLimiter');
export const PASSKEY_REPOSITORY = Symbol('PasskeyRepository');
export const WEBAUTHN_CHALLENGE_REPOSITORY = Symbol('WebAuthnChallengeRepository');
export const CLIENT_AUTH_FAILURE_COUNTER = Symbol('ClientAuthFailureCounter');
