export interface VisitedPage {
  readonly status: number;
  readonly html: string;
}

/** The approval page's CSRF pair: its hidden `csrf` field and the `ciba_approval_csrf` cookie its GET set. */
export interface ApprovalCsrf {
  readonly field: string;
  readonly cookie: string;
}

/** The CSRF pair in an approval page (`html`) and the `set-cookie` header of the GET that showed it. */
export function approvalCsrfOf(html: string, setCookie: string | null): ApprovalCsrf {
  const field = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  const cookie = /ciba_approval_csrf=([^;]*)/.exec(setCookie ?? '')?.[1] ?? '';
  return { field, cookie };
}

/** POSTs `decision` to an approval link with the page's CSRF field and cookie, from `origin`, as the page's form does. */
export function postApprovalDecision(link: string, csrf: ApprovalCsrf, decision: 'approve' | 'deny', origin: string): Promise<Response> {
  return fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `ciba_approval_csrf=${csrf.cookie}`, origin },
    body: new URLSearchParams({ csrf: csrf.field, decision }),
  });
}

/**
 * What the user's browser does with an approval link: GET the page, then POST the decision with the
 * page's CSRF field and the cookie the GET set, from the page's origin. The GET's answer when it is
 * not the page (an expired or used link), else the POST's.
 */
export async function answerApprovalPage(link: string, decision: 'approve' | 'deny'): Promise<VisitedPage> {
  const page = await fetch(link);
  const html = await page.text();
  if (page.status !== 200) return { status: page.status, html };
  const answer = await postApprovalDecision(link, approvalCsrfOf(html, page.headers.get('set-cookie')), decision, new URL(link).origin);
  return { status: answer.status, html: await answer.text() };
}

/** The approval link (`<notifier URL>/approve/<token>`) in what the user received: mail text, SMS, push payload. */
export function approvalLinkIn(received: string, notifierUrl: string): string {
  const base = notifierUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const link = new RegExp(`${base}/approve/[A-Za-z0-9_-]{43}`).exec(received)?.[0];
  if (!link) throw new Error('no approval link in the message');
  return link;
}
