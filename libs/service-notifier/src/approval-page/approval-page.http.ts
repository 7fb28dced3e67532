import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { approvalPageCsp, renderMessagePage } from './approval-page.view.js';

export const CSRF_COOKIE = 'ciba_approval_csrf';

/**
 * Sends an approval page with the headers every one of them carries, success or error. `csp` may
 * only tighten or narrowly extend the approval page's policy (the development inbox's email preview).
 */
export function sendPage(res: Response, status: number, render: (nonce: string) => string, csp: (nonce: string) => string = approvalPageCsp): void {
  const nonce = randomBytes(16).toString('base64url');
  res.status(status);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Content-Security-Policy', csp(nonce));
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.send(render(nonce));
}

/** A page script of ours: revalidated every time (a stale script would keep old rules), loading nothing itself. */
export function sendScript(res: Response, source: string): void {
  res.status(200);
  res.setHeader('Content-Type', 'text/javascript; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // A script's own policy (it matters for the service worker, which is a document of its own): nothing.
  res.setHeader('Content-Security-Policy', "default-src 'none'");
  res.send(source);
}

export function sendMessage(res: Response, status: number, title: string, message: string): void {
  sendPage(res, status, (nonce) => renderMessagePage({ title, message, nonce }));
}

/** A tiny `Cookie` header parser: the first value of `name`, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** A CSRF cookie secret: 32 random bytes, base64url (43 characters). */
const CSRF_SECRET_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The CSRF cookie's secret: the well-formed one the browser already holds (so two open tabs do not
 * invalidate each other), or a new random one.
 */
export function csrfSecret(req: Request, cookieName: string): string {
  const existing = readCookie(req.headers.cookie, cookieName);
  return existing !== null && CSRF_SECRET_SHAPE.test(existing) ? existing : randomBytes(32).toString('base64url');
}

/**
 * The value a page puts in its form field (or header): an HMAC of the cookie's secret and the hash of
 * the link the page was served for, so a value minted for one link never passes on another, even
 * with the same cookie.
 */
export function csrfFieldFor(secret: string, linkHash: string): string {
  return createHmac('sha256', secret).update(`csrf:${linkHash}`).digest('base64url');
}

/**
 * Signed double-submit cookie bound to the link (`linkHash`), plus an origin check for the
 * notifier's pages. `submitted` is the form field or header the page sent.
 *
 * The request must say where it comes from: `Origin` equal to the notifier's public origin, or —
 * when `Origin` is absent or `null` (under `Referrer-Policy: no-referrer` browsers send `Origin:
 * null` on form posts) — `Sec-Fetch-Site: same-origin`. A request with neither is refused: it is
 * not from a current browser on our page.
 */
export function passesCsrfChecks(req: Request, cookieName: string, submitted: string | null, linkHash: string, publicOrigin: string): boolean {
  const secret = readCookie(req.headers.cookie, cookieName);
  if (secret === null || !CSRF_SECRET_SHAPE.test(secret) || submitted === null) return false;
  if (!sameSecret(csrfFieldFor(secret, linkHash), submitted)) return false;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null') return origin === publicOrigin;
  return req.headers['sec-fetch-site'] === 'same-origin';
}

export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The page is for people: errors are HTML pages with the right status, never OAuth JSON. */
@Catch()
export class ApprovalPageExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApprovalPage');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const status = exception instanceof HttpException ? exception.getStatus() : httpErrorStatus(exception);
    if (status >= 500) this.logger.error({ err: exception }, 'unexpected error on the approval page');
    if (res.headersSent) return;
    if (status >= 500) sendMessage(res, 500, 'Something went wrong', 'Please try again in a moment.');
    else sendMessage(res, status, 'Bad request', 'This request could not be processed.');
  }
}

/** body-parser errors carry a 4xx `status`; anything else is unexpected. */
function httpErrorStatus(exception: unknown): number {
  if (typeof exception === 'object' && exception !== null && 'status' in exception) {
    const status = Number(exception.status);
    if (status >= 400 && status < 500) return status;
  }
  return 500;
}
