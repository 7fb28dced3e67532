import { escapeHtml } from '@ciba/channels';
import { layout } from '../approval-page/approval-page.view.js';

export interface EnrolmentPageModel {
  /** The VAPID public key, base64url: the script subscribes with it. */
  readonly applicationServerKey: string;
  /** Double-submit CSRF token; the script sends it back in `X-CSRF-Token`. */
  readonly csrfToken: string;
  /** Where the page's script is served (a path on this origin). */
  readonly scriptPath: string;
  /** The CSP nonce of the style block and the script element. */
  readonly nonce: string;
}

/**
 * The approval page's policy plus exactly what enrolling needs: our own script (by nonce), `fetch`
 * back to this origin, and a service worker from this origin.
 */
export function enrolmentPageCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; img-src 'none'`;
}

// Contrast (WCAG AA): white on #1d4ed8 ≈ 6.7:1; #8a1c1c on #fff ≈ 9:1; #0b6e2f on #fff ≈ 6.6:1.
const ENROLMENT_STYLES = `
label{display:block;font-weight:700;margin:1.5rem 0 .25rem}
input{display:block;width:100%;min-height:3rem;padding:.5rem .75rem;border:2px solid #52525b;border-radius:.375rem;font:inherit;color:#18181b;background:#ffffff}
input:focus-visible{outline:3px solid #18181b;outline-offset:2px}
.hint{color:#3f3f46;font-size:.875rem;margin:.25rem 0 0}
.enrol{background:#1d4ed8}
button:disabled{opacity:.6;cursor:default}
.status{min-height:1.5rem;font-weight:700}
.status.error{color:#8a1c1c}
.status.done{color:#0b6e2f}
`;

/** What enrolling does, an optional device name, and the one button; the script does the rest. */
export function renderEnrolmentPage(m: EnrolmentPageModel): string {
  const e = escapeHtml;
  const body = [
    '<h1>Get sign-in requests on this device</h1>',
    '<p>When a service asks you to approve a sign-in, this device will show a notification. Open it to review the request, then approve or deny it.</p>',
    '<p>Your browser will ask whether this site may show notifications: choose <strong>Allow</strong>. You can remove this device at any time.</p>',
    '<noscript><p class="status error">This page needs JavaScript to turn on notifications.</p></noscript>',
    `<form id="enrol-form" data-application-server-key="${e(m.applicationServerKey)}" data-csrf="${e(m.csrfToken)}">`,
    '<label for="device-label">Name for this device (optional)</label>',
    `<input id="device-label" name="label" type="text" maxlength="64" autocomplete="off" aria-describedby="device-label-hint">`,
    '<p id="device-label-hint" class="hint">For example “Work phone”, so you can tell your devices apart.</p>',
    '<div class="actions">',
    '<button type="submit" class="enrol">Turn on sign-in notifications</button>',
    '</div>',
    '</form>',
    '<p id="enrol-status" class="status" role="status" aria-live="polite"></p>',
    '<p class="note">This link works once. If you did not ask for it, close this page: nothing changes unless you turn notifications on.</p>',
    `<script nonce="${e(m.nonce)}" src="${e(m.scriptPath)}"></script>`,
  ].join('\n');
  return layout('Get sign-in requests on this device', m.nonce, body, ENROLMENT_STYLES);
}
