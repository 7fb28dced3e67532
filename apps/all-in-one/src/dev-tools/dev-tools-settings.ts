import { ConfigError, type ProviderConfig } from '@ciba/config';
import { isLoopbackHost } from './dev-tools-access.js';

/** The development tools of the all-in-one start: the inbox (/dev/inbox) and the authentication device (/dev/device). */
export interface DevToolsSettings {
  /** Mount the development inbox (and let email, SMS and device push without a vendor go to it). */
  readonly enabled: boolean;
  /** Mount /dev/device: only when the tools are on and CIBA_AUTH_CHANNEL_URI points at it. */
  readonly device: boolean;
}

/**
 * `CIBA_DEV_TOOLS` (`true`/`false`). Unset, the tools are on when the start listens on a loopback
 * address only (the default 127.0.0.1) and off when it listens on others: binding to the network
 * is a step towards exposing the provider, and the inbox holds every user's live approval links —
 * turning it on there is a decision to take explicitly, not a default that comes along.
 */
export function devToolsSettings(env: Readonly<Record<string, string | undefined>>, config: ProviderConfig): DevToolsSettings {
  const value = env['CIBA_DEV_TOOLS'] ?? '';
  let enabled: boolean;
  if (value === '') enabled = isLoopbackHost(config.http.host);
  else if (value === 'true' || value === '1') enabled = true;
  else if (value === 'false' || value === '0') enabled = false;
  else throw new ConfigError(['CIBA_DEV_TOOLS: expected true or false']);
  return { enabled, device: enabled && pointsAtOwnDevDevice(config.authChannel.uri, config.http.port) };
}

/** Whether the HTTP authentication channel URI is this start's own /dev/device (on a loopback host and its port). */
export function pointsAtOwnDevDevice(uri: string | null, port: number): boolean {
  if (uri === null) return false;
  const url = new URL(uri);
  const uriPort = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return url.protocol === 'http:' && isLoopbackHost(url.hostname) && uriPort === port && url.pathname.replace(/\/+$/, '') === '/dev/device' && url.search === '';
}
