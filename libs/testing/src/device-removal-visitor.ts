import type { VisitedPage } from './approval-page-visitor.js';

/** The removal page's CSRF pair: its hidden `csrf` field and the `ciba_removal_csrf` cookie its GET set. */
export interface RemovalCsrf {
  readonly field: string;
  readonly cookie: string;
}

/** The CSRF pair in a device removal page (`html`) and the `set-cookie` header of the GET that showed it. */
export function removalCsrfOf(html: string, setCookie: string | null): RemovalCsrf {
  const field = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
  const cookie = /ciba_removal_csrf=([^;]*)/.exec(setCookie ?? '')?.[1] ?? '';
  return { field, cookie };
}

/** POSTs the removal page's form to `link` with its CSRF field and cookie, from `origin`, as the browser does. */
export function postDeviceRemoval(link: string, csrf: RemovalCsrf, origin: string): Promise<Response> {
  return fetch(link, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `ciba_removal_csrf=${csrf.cookie}`, origin },
    body: new URLSearchParams({ csrf: csrf.field }),
  });
}

/**
 * What the user's browser does with a removal link ("not you? remove it"): GET the page, then press
 * Remove (POST with the page's CSRF field and cookie, from the page's origin). The GET's answer when
 * it is not the page (a used or expired link), else the POST's.
 */
export async function removeDeviceWithLink(link: string): Promise<VisitedPage> {
  const page = await fetch(link);
  const html = await page.text();
  if (page.status !== 200) return { status: page.status, html };
  const answer = await postDeviceRemoval(link, removalCsrfOf(html, page.headers.get('set-cookie')), new URL(link).origin);
  return { status: answer.status, html: await answer.text() };
}

/** The removal link (`<notifier URL>/enrol/remove/<token>`) in what the user received: mail text or SMS. */
export function removalLinkIn(received: string, notifierUrl: string): string {
  const base = notifierUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const link = new RegExp(`${base}/enrol/remove/[A-Za-z0-9_-]{43}`).exec(received)?.[0];
  if (!link) throw new Error('no removal link in the message');
  return link;
}
