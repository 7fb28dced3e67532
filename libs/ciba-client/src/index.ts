/**
 * @ciba/client: ask a user to approve an action on their own device, through any OpenID Connect
 * CIBA provider (discovery only), and gate an agent's tools behind that approval.
 *
 * Low level: {@link discover}, {@link startApproval}, {@link pollOnce}.
 * High level: {@link requestApproval}, {@link PingReceiver}, {@link withApproval}.
 */
export { type CibaClient, type CibaServerInfo, type ClientCredentials, type DiscoverOptions, discover } from './client.js';
export {
  type ApprovalTokens,
  type AuthorizationDetail,
  CIBA_GRANT_TYPE,
  type PollOnceOptions,
  type PollResult,
  type StartApprovalParams,
  type StartedApproval,
  type UserHint,
  backchannelParameters,
  pollOnce,
  startApproval,
} from './primitives.js';
export { DEFAULT_INTERVAL_SECONDS, type PendingOutcome, SLOW_DOWN_INCREMENT_SECONDS, classifyTokenError, nextPollDelay, sanitizeInterval } from './outcome.js';
export { ApprovalNotGrantedError, CibaClientError, CibaProtocolError, CibaProviderError, type NotApprovedStatus } from './errors.js';
export { type ApprovalOutcome, PING_FALLBACK_POLL_SECONDS, type RequestApprovalOptions, requestApproval } from './request-approval.js';
export { MAX_PING_BODY_BYTES, type PingExpectation, type PingHeaders, PingReceiver, type PingRequest, type PingResponse } from './ping-receiver.js';
export { type Approval, type ApprovalPolicy, currentApproval, withApproval } from './with-approval.js';
