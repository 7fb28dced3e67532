export interface WebAuthnRelyingParty {
  /** The RP ID: the notifier's host name. */
  readonly id: string;
  /** The only origin ceremonies may come from: the notifier's. */
  readonly origin: string;
}

/**
 * WebAuthn needs a secure context (https, or http on localhost) and an RP ID that is a domain name,
 * never an IP address; the RP ID is the notifier's host, so passkeys work on its pages only.
 */
export function webAuthnRelyingParty(notifierUrl: string): WebAuthnRelyingParty | null {
  const url = new URL(notifierUrl);
  const host = url.hostname;
  const isIp = /^[0-9.]+$/.test(host) || host.startsWith('[');
  const isLocalhost = host === 'localhost' || host.endsWith('.localhost');
  if (isIp) return null;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLocalhost)) return null;
  return { id: host, origin: url.origin };
}
