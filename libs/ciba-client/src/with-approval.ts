import { AsyncLocalStorage } from 'node:async_hooks';
import type { CibaClient } from './client.js';
import { ApprovalNotGrantedError, CibaClientError } from './errors.js';
import type { PingReceiver } from './ping-receiver.js';
import type { AuthorizationDetail, StartedApproval, UserHint } from './primitives.js';
import { type ApprovalOutcome, requestApproval } from './request-approval.js';

/** The approval a gated tool runs under; read it with {@link currentApproval}. */
export type Approval = Extract<ApprovalOutcome, { status: 'approved' }>;

/**
 * What to ask before a tool runs. The functions receive the tool's own arguments, so the binding
 * message and authorization details describe exactly this call; keep them pure (same arguments,
 * same message) so the user can match what the agent shows with what their device shows.
 */
export interface ApprovalPolicy<A extends readonly unknown[]> {
  readonly client: CibaClient;
  /** Whom to ask: a login_hint string or any CIBA §7.1 hint. */
  readonly user: (...args: A) => string | UserHint;
  readonly bindingMessage: (...args: A) => string;
  readonly authorizationDetails?: (...args: A) => readonly AuthorizationDetail[];
  /** A short name of the action, for logs; defaults to the tool function's name. */
  readonly action?: string;
  readonly scope?: string | readonly string[];
  readonly acrValues?: string | readonly string[];
  readonly requestedExpiry?: number;
  readonly timeoutMs?: number;
  readonly mode?: 'poll' | 'ping';
  readonly ping?: PingReceiver;
  /** A signal for this call (an MCP request's, a user's "stop" button). */
  readonly signal?: (...args: A) => AbortSignal | undefined;
  readonly onStarted?: (started: StartedApproval, ...args: A) => void;
}

const approvals = new AsyncLocalStorage<Approval>();

/**
 * Inside a tool gated by {@link withApproval}: the approval it runs under (its tokens — the access
 * token to call the protected API with). `undefined` anywhere else.
 */
export function currentApproval(): Approval | undefined {
  return approvals.getStore();
}

/**
 * Gates `toolFn` behind a CIBA approval: the returned function takes the same arguments, asks the
 * user first, and runs `toolFn` only when the user approved. Otherwise it throws
 * {@link ApprovalNotGrantedError} (status `denied`, `expired` or `timed_out`) and `toolFn` never
 * runs; protocol and provider failures are thrown as the kit's other errors, cancellation as the
 * signal's reason. Each call asks anew: an approval is for one call, never reused.
 */
export function withApproval<A extends readonly unknown[], R>(toolFn: (...args: A) => R | Promise<R>, policy: ApprovalPolicy<A>): (...args: A) => Promise<Awaited<R>> {
  const action = policy.action ?? (toolFn.name || 'tool');
  return async (...args: A): Promise<Awaited<R>> => {
    const bindingMessage = policy.bindingMessage(...args);
    if (typeof bindingMessage !== 'string' || bindingMessage.length === 0) throw new CibaClientError('invalid_argument', `the policy of ${action} gave no binding message`);
    const signal = policy.signal?.(...args);
    const authorizationDetails = policy.authorizationDetails?.(...args);
    const outcome = await requestApproval({
      client: policy.client,
      user: policy.user(...args),
      action,
      bindingMessage,
      ...(authorizationDetails !== undefined ? { authorizationDetails } : {}),
      ...(policy.scope !== undefined ? { scope: policy.scope } : {}),
      ...(policy.acrValues !== undefined ? { acrValues: policy.acrValues } : {}),
      ...(policy.requestedExpiry !== undefined ? { requestedExpiry: policy.requestedExpiry } : {}),
      ...(policy.timeoutMs !== undefined ? { timeoutMs: policy.timeoutMs } : {}),
      ...(policy.mode !== undefined ? { mode: policy.mode } : {}),
      ...(policy.ping !== undefined ? { ping: policy.ping } : {}),
      ...(signal !== undefined ? { signal } : {}),
      ...(policy.onStarted ? { onStarted: (started: StartedApproval) => policy.onStarted!(started, ...args) } : {}),
    });
    switch (outcome.status) {
      case 'approved':
        return await approvals.run(outcome, async () => await toolFn(...args));
      case 'denied':
        throw new ApprovalNotGrantedError('denied', outcome.description);
      case 'expired':
        throw new ApprovalNotGrantedError('expired', outcome.description);
      case 'timed_out':
        throw new ApprovalNotGrantedError('timed_out');
    }
  };
}
