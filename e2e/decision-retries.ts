import { createHash } from 'node:crypto';
import { approvalCsrfOf } from '@ciba/testing';

/** A definitive answer to a decision: anything but a network error or a 5xx. */
export interface Answer {
  readonly status: number;
  readonly body: string;
  /** How many attempts it took (more than one when the notifier died under it). */
  readonly attempts: number;
}

/** How often an emulated device or browser retries while the notifier is down. */
const RETRY_BACKOFF_MS = 50;

/**
 * Sends `attempt` until the answer is definitive, as an authentication device (or a user pressing
 * the button again) does: a refused or reset connection and a 5xx are retried after a short
 * backoff, up to `deadline`.
 */
export async function untilDefinitive(attempt: () => Promise<Response>, deadline: number): Promise<Answer> {
  for (let attempts = 1; ; attempts++) {
    try {
      const res = await attempt();
      const body = await res.text();
      if (res.status < 500) return { status: res.status, body, attempts };
    } catch {
      // The notifier is down or died mid-request: retry.
    }
    if (Date.now() > deadline) throw new Error(`no definitive answer after ${attempts} attempts`);
    await new Promise((resolve) => setTimeout(resolve, RETRY_BACKOFF_MS));
  }
}

/** The device's decision on the HTTP authentication channel callback. */
export function deviceCallback(notifierUrl: string, decisionToken: string, status: 'SUCCEED' | 'UNAUTHORIZED' | 'CANCELLED'): () => Promise<Response> {
  return () =>
    fetch(`${notifierUrl}/ext/ciba/auth/callback`, {
      method: 'POST',
      headers: { authorization: `Bearer ${decisionToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status }),
    });
}

/** Opens an approval link (GET, for its CSRF pair) and returns the form submission a browser would send. */
export async function approvalForm(link: string, decision: 'approve' | 'deny'): Promise<() => Promise<Response>> {
  const page = await fetch(link);
  const csrf = approvalCsrfOf(await page.text(), page.headers.get('set-cookie'));
  if (page.status !== 200 || !csrf.field) throw new Error(`approval page answered ${page.status}`);
  return () =>
    fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `ciba_approval_csrf=${csrf.cookie}`, origin: new URL(link).origin },
      body: new URLSearchParams({ csrf: csrf.field, decision }),
    });
}

/** How the provider stores a decision token or approval-link token: its SHA-256, base64url. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}
