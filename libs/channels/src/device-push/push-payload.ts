import type { ApprovalNotification } from '../channel.js';

/**
 * What a device push shows on the lock screen. Deliberately minimal: lock screens and push services
 * are not trusted with scopes, tokens, the request id or who the user is — only who asks, the binding
 * message the user must compare, and where to approve.
 */
export interface DevicePushPayload {
  readonly title: string;
  readonly body: string;
  readonly url: string;
  /** Never sent: the request id is for our logs only. */
  readonly requestId?: never;
}

export const GENERIC_PUSH_BODY = 'Open to review and approve or deny this sign-in request.';

// Push services cap payloads at ~4 KB; staying far below keeps the encrypted record small and the
// notification readable. Binding messages are short by protocol rule; client names are admin-set.
const MAX_TITLE_CHARS = 120;
const MAX_BODY_CHARS = 300;

function clamp(text: string, max: number): string {
  const trimmed = text.trim();
  const chars = Array.from(trimmed);
  return chars.length <= max ? trimmed : `${chars.slice(0, max - 1).join('')}…`;
}

export function devicePushPayload(n: ApprovalNotification): { title: string; body: string; url: string; requestId?: never } {
  const bindingMessage = n.bindingMessage?.trim();
  return {
    title: clamp(`Sign-in request from ${n.clientName}`, MAX_TITLE_CHARS),
    body: bindingMessage ? clamp(bindingMessage, MAX_BODY_CHARS) : GENERIC_PUSH_BODY,
    url: n.approvalUrl,
  };
}
