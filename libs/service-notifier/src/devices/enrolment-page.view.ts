import { describeDeviceKind, escapeHtml, utcMinute } from '@ciba/channels';
import type { DeviceKind } from '@ciba/domain';
import { layout } from '../approval-page/approval-page.view.js';

/** One of the user's active devices, as the enrolment page lists it (never its target). */
export interface ListedDevice {
  readonly id: string;
  readonly label: string | null;
  readonly kind: DeviceKind;
  readonly createdAt: Date;
}

export interface EnrolmentPageModel {
  /**
   * The VAPID public key, base64url: the script subscribes with it. Null when this link cannot
   * register a device (already used for one, or Web Push is off): the page offers only a passkey.
   */
  readonly applicationServerKey: string | null;
  /** Double-submit CSRF token; the scripts send it back in `X-CSRF-Token`. */
  readonly csrfToken: string;
  /** Where the device-enrolment script is served (a path on this origin). */
  readonly scriptPath: string;
  /** The CSP nonce of the style block and the script elements. */
  readonly nonce: string;
  /**
   * "Add a passkey": the WebAuthn registration options and where its script is served. Absent when
   * this link cannot add one (already did, or the notifier's URL cannot host WebAuthn).
   */
  readonly passkey?: { readonly options: unknown; readonly scriptPath: string };
  /** The user's active devices, each with a Remove button posting to `removePath` (a plain form: no script needed). */
  readonly devices?: { readonly listed: readonly ListedDevice[]; readonly removePath: string };
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
.devices{list-style:none;padding:0}
.devices li{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;margin:0 0 .75rem}
.devices .what{flex:1 1 12rem;overflow-wrap:anywhere}
.devices form{margin:0}
.devices button{flex:0 0 auto;min-height:2.75rem;background:#8a1c1c}
`;

/**
 * What enrolling does, an optional device name, and the button; then, when the link can still add
 * one, "Add a passkey". The scripts do the rest.
 */
export function renderEnrolmentPage(m: EnrolmentPageModel): string {
  const device = m.applicationServerKey === null ? [] : deviceSection(m, m.applicationServerKey);
  const passkey = m.passkey ? passkeySection(m, m.passkey, device.length === 0) : [];
  const devices = m.devices && m.devices.listed.length > 0 ? devicesSection(m, m.devices) : [];
  const title = device.length > 0 ? 'Get sign-in requests on this device' : 'Add a passkey';
  const note =
    device.length > 0 && passkey.length > 0
      ? '<p class="note">This link works once for each: notifications on one device, and one passkey. If you did not ask for it, close this page: nothing changes unless you use it.</p>'
      : '<p class="note">This link works once. If you did not ask for it, close this page: nothing changes unless you use it.</p>';
  return layout(title, m.nonce, [...device, ...passkey, ...devices, note].join('\n'), ENROLMENT_STYLES);
}

/** The devices that already get the user's sign-in requests, so one the user does not know can be removed here. */
function devicesSection(m: EnrolmentPageModel, devices: NonNullable<EnrolmentPageModel['devices']>): string[] {
  const e = escapeHtml;
  return [
    '<h2>Devices that get your sign-in requests</h2>',
    '<p>Remove any device you do not recognise: it could approve sign-ins in your name.</p>',
    '<ul class="devices">',
    ...devices.listed.map((d) => {
      const name = d.label ?? describeDeviceKind(d.kind);
      return [
        '<li>',
        `<span class="what"><strong>${e(name)}</strong>, added ${e(utcMinute(d.createdAt))}</span>`,
        `<form method="post" action="${e(devices.removePath)}">`,
        `<input type="hidden" name="csrf" value="${e(m.csrfToken)}">`,
        `<input type="hidden" name="device" value="${e(d.id)}">`,
        `<button type="submit" aria-label="Remove ${e(name)}">Remove</button>`,
        '</form>',
        '</li>',
      ].join('');
    }),
    '</ul>',
  ];
}

function deviceSection(m: EnrolmentPageModel, applicationServerKey: string): string[] {
  const e = escapeHtml;
  return [
    '<h1>Get sign-in requests on this device</h1>',
    '<p>When a service asks you to approve a sign-in, this device will show a notification. Open it to review the request, then approve or deny it.</p>',
    '<p>Your browser will ask whether this site may show notifications: choose <strong>Allow</strong>. You can remove this device at any time.</p>',
    '<noscript><p class="status error">This page needs JavaScript to turn on notifications.</p></noscript>',
    `<form id="enrol-form" data-application-server-key="${e(applicationServerKey)}" data-csrf="${e(m.csrfToken)}">`,
    '<label for="device-label">Name for this device (optional)</label>',
    `<input id="device-label" name="label" type="text" maxlength="64" autocomplete="off" aria-describedby="device-label-hint">`,
    '<p id="device-label-hint" class="hint">For example “Work phone”, so you can tell your devices apart.</p>',
    '<div class="actions">',
    '<button type="submit" class="enrol">Turn on sign-in notifications</button>',
    '</div>',
    '</form>',
    '<p id="enrol-status" class="status" role="status" aria-live="polite"></p>',
    `<script nonce="${e(m.nonce)}" src="${e(m.scriptPath)}"></script>`,
  ];
}

/** A passkey lets the user confirm sign-in requests that ask for more than a tap (passkey step-up). */
function passkeySection(m: EnrolmentPageModel, passkey: NonNullable<EnrolmentPageModel['passkey']>, alone: boolean): string[] {
  const e = escapeHtml;
  return [
    alone ? '<h1>Add a passkey</h1>' : '<h2>Add a passkey</h2>',
    '<p>Some sign-in requests ask you to confirm with a passkey: your fingerprint, face or screen lock on this device, or a security key. A passkey only works on this site, so it cannot be phished.</p>',
    '<noscript><p class="status error">This page needs JavaScript to add a passkey.</p></noscript>',
    `<form id="passkey-form" data-passkey-options="${e(JSON.stringify(passkey.options))}" data-csrf="${e(m.csrfToken)}">`,
    '<div class="actions">',
    '<button type="submit" class="enrol">Add a passkey</button>',
    '</div>',
    '</form>',
    '<p id="passkey-status" class="status" role="status" aria-live="polite"></p>',
    `<script nonce="${e(m.nonce)}" src="${e(passkey.scriptPath)}"></script>`,
  ];
}
