import { createHash, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { CibaProtocolError } from '@ciba/client';
import type { StepUpApproval, TypeOrmStepUpApprovalRepository } from '@ciba/persistence';
import type { KeyEncryptor } from '@ciba/tokens';
import type { AuditReporter } from './audit-reporter.js';
import type { CibaProviders } from './ciba-providers.js';
import type { Policy, RoutePolicy } from './policy/policy.js';
import { matchRoutePattern, nonCanonicalPathProblem } from './policy/route-pattern.js';
import { TemplateError, renderJsonTemplate, renderTemplate } from './policy/templates.js';
import { InvalidSubjectToken, SubjectTokenVerifier, type VerifiedSubject } from './subject-token.js';

/** The request as the gateway sees it, in either deployment. */
export interface GatedRequest {
  readonly method: string;
  /** Path and query, as sent (`/payments/42?currency=EUR`). */
  readonly url: string;
  readonly authorization: string | undefined;
  /** SHA-256 of the body (base64url), when the route fingerprints requests. */
  readonly bodyDigest: string | null;
}

export interface MatchedRoute {
  readonly route: RoutePolicy;
  readonly params: Record<string, string>;
}

/** What to do with a request. `headers` go on the answer (a refusal) or, for `allow`, upstream. */
export type Decision =
  | { readonly kind: 'pass' }
  | { readonly kind: 'allow'; readonly route: RoutePolicy; readonly header: { readonly name: string; readonly value: string } }
  | { readonly kind: 'refuse'; readonly status: number; readonly headers: Record<string, string>; readonly body: Record<string, unknown> };

/** How long a replica may take to send the backchannel request before another request may start over. */
const START_DEADLINE_MS = 30_000;

/**
 * The step-up decision, shared by the reverse proxy and the forward-auth endpoint: verify the
 * subject token, find the approval bound to this user, route policy and (optionally) request
 * fingerprint, and either let the request through with the new access token, or start a CIBA
 * request and answer `401 insufficient_user_authentication` (RFC 9470) at once, or refuse.
 */
export class StepUpGateway {
  private readonly logger = new Logger('StepUpGateway');

  constructor(
    private readonly policy: Policy,
    private readonly verifier: SubjectTokenVerifier,
    private readonly approvals: TypeOrmStepUpApprovalRepository,
    private readonly providers: CibaProviders,
    private readonly sealer: KeyEncryptor,
    private readonly audit: AuditReporter | null,
    private readonly record: (route: string, decision: string) => void = () => undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The first route whose method and path pattern match, or null. */
  match(method: string, url: string): MatchedRoute | null {
    const path = url.split('?')[0] ?? '';
    for (const route of this.policy.routes) {
      if (route.methods !== '*' && !route.methods.includes(method.toUpperCase())) continue;
      const params = matchRoutePattern(route.pattern, path);
      if (params) return { route, params };
    }
    return null;
  }

  async decide(request: GatedRequest, matched: MatchedRoute | null): Promise<Decision> {
    let decision: Decision;
    try {
      decision = await this.decideRoute(request, matched);
    } catch (err) {
      this.record(matched?.route.id ?? 'unmatched', 'error');
      throw err;
    }
    this.record(matched?.route.id ?? 'unmatched', decisionLabel(decision));
    return decision;
  }

  private async decideRoute(request: GatedRequest, matched: MatchedRoute | null): Promise<Decision> {
    const pathProblem = nonCanonicalPathProblem(request.url.split('?')[0] ?? '');
    if (pathProblem !== null) return refuse(400, 'invalid_request', pathProblem);
    if (!matched) {
      return this.policy.unmatched === 'pass' ? { kind: 'pass' } : refuse(403, 'access_denied', 'no policy route covers this request');
    }
    const { route, params } = matched;
    if (!route.cibaEnabled) return { kind: 'pass' };
    const bearer = SubjectTokenVerifier.bearerOf(request.authorization);
    if (bearer === null) return invalidToken('a bearer access token is required');
    let subject: VerifiedSubject;
    try {
      subject = await this.verifier.verify(bearer);
    } catch (err) {
      if (err instanceof InvalidSubjectToken) return invalidToken(err.message);
      throw err;
    }
    let action: RenderedAction;
    try {
      action = renderAction(route, { params, claims: subject.claims, method: request.method.toUpperCase(), path: request.url.split('?')[0] ?? '' });
    } catch (err) {
      if (err instanceof TemplateError) return refuse(403, 'access_denied', `the route's step-up request cannot be made: ${err.message}`);
      throw err;
    }
    const loginHint = subject.claims[route.loginHintClaim];
    if (typeof loginHint !== 'string' || loginHint.length === 0) return invalidToken(`the access token has no ${route.loginHintClaim} claim to name the user`);
    const fingerprint = route.fingerprint ? `${request.method.toUpperCase()} ${request.url} ${request.bodyDigest ?? ''}` : null;
    const bindingKey = digest(JSON.stringify([route.id, subject.issuer, subject.subject, action, fingerprint]));
    return this.decideBound(route, bindingKey, loginHint, action, request);
  }

  private async decideBound(route: RoutePolicy, bindingKey: string, loginHint: string, action: RenderedAction, request: GatedRequest): Promise<Decision> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const now = this.now();
      const current = await this.approvals.current(bindingKey, now);
      if (current?.status === 'approved') {
        const used = await this.approvals.use(current.id, now);
        // Another request (maybe on another replica) used a `once` approval first: start over.
        if (used) return this.allow(route, used, request);
        continue;
      }
      if (current?.status === 'pending') return challenge(current, now, route);
      if (current?.status === 'denied' && current.requestExpiresAt > now) {
        return refuse(403, 'access_denied', `the user did not approve this action${current.denialReason ? ` (${current.denialReason})` : ''}`, { approval: current.id, status: 'denied' });
      }
      const opened = await this.approvals.open({
        id: randomUUID(),
        bindingKey,
        routeId: route.id,
        reuse: route.reuse === 'once' ? 'once' : 'ttl',
        createdAt: now,
        startDeadline: new Date(now.getTime() + START_DEADLINE_MS),
      });
      if (!opened.created) continue;
      return this.start(route, opened.approval, loginHint, action);
    }
    return refuse(503, 'temporarily_unavailable', 'the approval is being used by concurrent requests; retry', {}, { 'Retry-After': '1' });
  }

  private async start(route: RoutePolicy, approval: StepUpApproval, loginHint: string, action: RenderedAction): Promise<Decision> {
    let started;
    try {
      started = await this.providers.start(route.provider, {
        loginHint,
        scope: route.scope,
        ...(action.bindingMessage !== null ? { bindingMessage: action.bindingMessage } : {}),
        ...(route.acrValues ? { acrValues: route.acrValues } : {}),
        ...(action.authorizationDetails !== null ? { authorizationDetails: action.authorizationDetails as never } : {}),
        ...(route.requestedExpiry !== undefined ? { requestedExpiry: route.requestedExpiry } : {}),
      });
    } catch (err: unknown) {
      await this.approvals.abandon(approval.id);
      if (err instanceof CibaProtocolError && err.status !== undefined && err.status < 500 && err.error !== 'invalid_client') {
        // The provider refused this user or action (unknown_user_id, invalid_binding_message, …).
        return refuse(403, 'access_denied', `the provider refused the step-up request: ${err.error}`);
      }
      this.logger.warn({ err, route: route.id }, 'could not start a step-up request');
      return refuse(502, 'temporarily_unavailable', 'the approval provider could not be reached; retry later', {}, { 'Retry-After': '5' });
    }
    const now = this.now();
    await this.approvals.started(
      approval.id,
      this.sealer.encrypt(started.authReqId, `${approval.id}:auth_req_id`),
      started.interval,
      new Date(now.getTime() + started.expiresIn * 1000),
      new Date(now.getTime() + started.interval * 1000),
      now,
    );
    this.logger.log({ route: route.id, approval: approval.id }, 'step-up request started');
    return challenge({ ...approval, pollInterval: started.interval, nextPollAt: new Date(now.getTime() + started.interval * 1000) }, now, route);
  }

  private allow(route: RoutePolicy, approval: StepUpApproval, request: GatedRequest): Decision {
    if (approval.accessTokenSealed === null) throw new Error(`approved step-up ${approval.id} holds no token`);
    const token = this.sealer.decrypt(approval.accessTokenSealed, `${approval.id}:access_token`);
    if (approval.accessTokenJti !== null) {
      this.audit?.report({ jti: approval.accessTokenJti, outcome: 'allowed', action: route.id, resource: `${request.method.toUpperCase()} ${request.url.split('?')[0]}` });
    }
    const { name, scheme } = route.injectHeader;
    return { kind: 'allow', route, header: { name, value: scheme ? `${scheme} ${token}` : token } };
  }
}

/** The action the user is asked to approve, as rendered for this request. */
interface RenderedAction {
  readonly bindingMessage: string | null;
  readonly authorizationDetails: unknown[] | null;
  readonly scope: string;
  readonly acrValues: readonly string[] | null;
}

function renderAction(route: RoutePolicy, context: Parameters<typeof renderTemplate>[1]): RenderedAction {
  return {
    bindingMessage: route.bindingMessage !== undefined ? renderTemplate(route.bindingMessage, context) : null,
    authorizationDetails: route.authorizationDetails !== undefined ? (renderJsonTemplate(route.authorizationDetails, context) as unknown[]) : null,
    scope: route.scope,
    acrValues: route.acrValues ?? null,
  };
}

function decisionLabel(decision: Decision): string {
  if (decision.kind !== 'refuse') return decision.kind;
  const error = decision.body['error'];
  if (error === 'insufficient_user_authentication') return 'challenge';
  if (error === 'invalid_token') return 'invalid_token';
  if (decision.status === 403) return 'denied';
  return 'error';
}

export function digest(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** A header parameter value (RFC 9110 quoted-string) without quotes or backslashes to escape. */
function quoted(text: string): string {
  return `"${text.replace(/["\\]/g, "'")}"`;
}

function refuse(status: number, error: string, description: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): Decision {
  return { kind: 'refuse', status, headers, body: { error, error_description: description, ...extra } };
}

function invalidToken(description: string): Decision {
  return refuse(401, 'invalid_token', description, {}, { 'WWW-Authenticate': `Bearer error="invalid_token", error_description=${quoted(description)}` });
}

/** RFC 9470 §3: the client is told to come back once the user has approved on their device. */
function challenge(approval: Pick<StepUpApproval, 'id' | 'nextPollAt' | 'pollInterval'>, now: Date, route: RoutePolicy): Decision {
  const retryAfter = Math.max(1, Math.ceil((approval.nextPollAt.getTime() - now.getTime()) / 1000), approval.pollInterval);
  const description = 'the user must approve this action on their device; retry after approval';
  const acr = route.acrValues ? `, acr_values=${quoted(route.acrValues.join(' '))}` : '';
  const status = `/step-up/approvals/${approval.id}`;
  return refuse(
    401,
    'insufficient_user_authentication',
    description,
    { status: 'pending', approval: approval.id, status_uri: status, retry_after: retryAfter },
    {
      'WWW-Authenticate': `Bearer error="insufficient_user_authentication", error_description=${quoted(description)}${acr}`,
      'Retry-After': String(retryAfter),
      Link: `<${status}>; rel="status"`,
    },
  );
}
