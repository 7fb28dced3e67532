/**
 * Why an endpoint was refused. Short codes, safe to log, audit and map to a registration error:
 * they never carry the URL, a token or a body.
 */
export type EndpointRejectionReason = 'invalid_url' | 'not_https' | 'has_credentials' | 'has_fragment' | 'forbidden_address';

const DESCRIPTIONS: Readonly<Record<EndpointRejectionReason, string>> = {
  invalid_url: 'the endpoint must be an absolute URL',
  not_https: 'the endpoint must use https',
  has_credentials: 'the endpoint must not contain user information',
  has_fragment: 'the endpoint must not contain a fragment',
  forbidden_address: 'the endpoint resolves to an address that is not allowed',
};

/** The endpoint breaks the notification endpoint policy: a permanent refusal, never worth retrying. */
export class EndpointRejected extends Error {
  override readonly name = 'EndpointRejected';

  constructor(readonly reason: EndpointRejectionReason) {
    super(DESCRIPTIONS[reason]);
  }
}

/**
 * The endpoint's host could not be resolved (ENOTFOUND, EAI_AGAIN, no addresses). Unlike
 * `EndpointRejected` this may be transient: delivery treats it as retryable, registration decides.
 */
export class EndpointResolutionFailed extends Error {
  override readonly name = 'EndpointResolutionFailed';

  constructor(readonly code: string) {
    super(`the endpoint host could not be resolved (${code})`);
  }
}
