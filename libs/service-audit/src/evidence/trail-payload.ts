import { createHash } from 'node:crypto';

/**
 * The binding message goes to the evidence record as text, and to the event trail (`audit_records`)
 * as its SHA-256 only (`bindingMessageSha256`, base64url; null without one): the trail, which the
 * hash chain covers, commits to what the user was shown without keeping the text twice, and an
 * auditor checks the record's text against it.
 */
export function trailDetails<T extends Record<string, unknown>>(details: T): Record<string, unknown> {
  if (!('bindingMessage' in details)) return details;
  const { bindingMessage, ...rest } = details;
  return { ...rest, bindingMessageSha256: typeof bindingMessage === 'string' ? bindingMessageDigest(bindingMessage) : null };
}

export function bindingMessageDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64url');
}
