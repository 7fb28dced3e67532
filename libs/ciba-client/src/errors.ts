/**
 * The kit's errors. Everything it throws is one of these (or the caller's own AbortSignal reason),
 * so that an agent can tell "the provider said no" from "the provider could not be reached".
 */

/** Base class: `code` is machine-readable, the message is for people. */
export class CibaClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The provider answered with an OAuth error the protocol gives no client-side meaning to
 * (invalid_client, invalid_grant, unauthorized_client, invalid_request, …): `error` and
 * `description` are the provider's own words, `status` its HTTP status.
 */
export class CibaProtocolError extends CibaClientError {
  constructor(
    readonly error: string,
    readonly description: string | undefined,
    readonly status: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(error, description ? `${error}: ${description}` : error, options);
  }
}

/**
 * The provider could not be used: discovery failed, it does not advertise CIBA, it answered with
 * something that is not an OAuth response, or it could not be reached.
 */
export class CibaProviderError extends CibaClientError {}

/** What an approval ended with when it was not approved. */
export type NotApprovedStatus = 'denied' | 'expired' | 'timed_out';

/**
 * `withApproval` refused to run the tool: the user denied the request, it expired on the provider,
 * or the caller's time limit ran out first. `description` is the provider's reason when it gave one.
 */
export class ApprovalNotGrantedError extends CibaClientError {
  constructor(
    readonly status: NotApprovedStatus,
    readonly description?: string,
  ) {
    super(`approval_${status}`, notGrantedMessage(status, description));
  }
}

function notGrantedMessage(status: NotApprovedStatus, description: string | undefined): string {
  const head = status === 'denied' ? 'the user denied the request' : status === 'expired' ? 'the approval request expired' : 'no decision arrived in time';
  return description ? `${head}: ${description}` : head;
}
