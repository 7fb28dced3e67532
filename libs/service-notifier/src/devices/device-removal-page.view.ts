import { describeDeviceKind, escapeHtml, utcMinute } from '@ciba/channels';
import type { DeviceKind } from '@ciba/domain';
import { layout } from '../approval-page/approval-page.view.js';

/** What the removal page shows about the device; label and client name are client or user controlled and escaped here. */
export interface RemovalPageModel {
  readonly label: string | null;
  readonly kind: DeviceKind;
  readonly registeredAt: Date;
  /** The client that registered the device; null when the user's enrolment link did. */
  readonly clientName: string | null;
  readonly csrfToken: string;
  /** Where the form posts: the link's own path. */
  readonly actionPath: string;
  readonly nonce: string;
}

const REMOVAL_STYLES = `
dl{margin:0 0 1rem}
dt{font-weight:700;margin:.5rem 0 0}
dd{margin:0;overflow-wrap:anywhere}
.remove{background:#8a1c1c}
`;

/**
 * "Remove this device?": which device, when and through what it was added, and one button. Looking
 * does not remove anything (mail scanners open links too); only the form's POST does.
 */
export function renderRemovalPage(m: RemovalPageModel): string {
  const e = escapeHtml;
  const body = [
    '<h1>Remove this device?</h1>',
    '<p>This device was added to your account and receives your sign-in requests: it can approve them. If you did not add it, remove it.</p>',
    '<dl>',
    `<dt>Name</dt><dd>${m.label === null ? 'No name given' : e(m.label)}</dd>`,
    `<dt>Kind</dt><dd>${e(describeDeviceKind(m.kind))}</dd>`,
    `<dt>Added</dt><dd>${e(utcMinute(m.registeredAt))}</dd>`,
    `<dt>Added through</dt><dd>${m.clientName === null ? 'A device setup link sent to you' : e(m.clientName)}</dd>`,
    '</dl>',
    `<form method="post" action="${e(m.actionPath)}">`,
    `<input type="hidden" name="csrf" value="${e(m.csrfToken)}">`,
    '<div class="actions">',
    '<button type="submit" class="remove">Remove this device</button>',
    '</div>',
    '</form>',
    '<p class="note">If you added this device yourself, close this page: nothing changes. The link works once.</p>',
  ].join('\n');
  return layout('Remove this device?', m.nonce, body, REMOVAL_STYLES);
}
