import type { AuthRequest, AuthRequestRepository } from '@ciba/domain';
import { AUTH_REQUEST_REPOSITORY } from '@ciba/platform';
import { ApprovalLinks } from '@ciba/service-notifier';
import { type ApprovalCsrf, approvalCsrfOf, requestIdIn } from '@ciba/testing';
import type { TestProvider } from './provider-harness.js';

/** An HTML answer: the approval page, the development inbox. */
export interface Page {
  readonly status: number;
  readonly headers: Headers;
  readonly html: string;
}

export async function readPage(res: Response): Promise<Page> {
  return { status: res.status, headers: res.headers, html: await res.text() };
}

/** The CSRF value from the approval page's hidden field and the cookie the GET set. */
export function csrfOf(get: Page): ApprovalCsrf {
  return approvalCsrfOf(get.html, get.headers.get('set-cookie'));
}

/** A bc-authorize request for alice, its stored request and an approval link for it. */
export async function requestWithLink(op: TestProvider, params: Record<string, string> = {}): Promise<{ authReqId: string; request: AuthRequest; link: string }> {
  const { authReqId } = await op.authorize(params);
  const requestId = requestIdIn(authReqId);
  const request = await op.app.get<symbol, AuthRequestRepository>(AUTH_REQUEST_REPOSITORY).findById(requestId);
  if (!request) throw new Error(`request ${requestId} not found`);
  const link = await op.app.get(ApprovalLinks).issue(request);
  return { authReqId, request, link };
}
