import type { DecisionTokenWithRequest } from '../ports/ports.js';
import { type AuthRequest, type TokenDecision, effectiveStatus } from './auth-request.js';

/**
 * What a decision token can do, read from the token and its request as they stand:
 * - `gone`: unknown, or issued for another channel (a token answers only where it was sent);
 * - `expired`: the token or its request is past its lifetime;
 * - `usable`: unused, and its request is pending;
 * - `used`: this token already recorded `decision` (a retry: the same decision is answered as a
 *   success again, a different one is refused);
 * - `settled`: unused, but its request is no longer pending (another token decided it): the
 *   decision that stands is the request's.
 */
export type DecisionTokenState =
  | { readonly kind: 'gone' }
  | { readonly kind: 'expired' }
  | { readonly kind: 'usable'; readonly request: AuthRequest }
  | { readonly kind: 'used'; readonly decision: TokenDecision; readonly request: AuthRequest }
  | { readonly kind: 'settled'; readonly request: AuthRequest };

export function decisionTokenState(found: DecisionTokenWithRequest | null, now: Date): DecisionTokenState {
  if (!found) return { kind: 'gone' };
  const { token, request } = found;
  if (token.decision !== null) return { kind: 'used', decision: token.decision, request };
  if (token.expiresAt.getTime() <= now.getTime()) return { kind: 'expired' };
  const status = effectiveStatus(request, now);
  if (status === 'expired') return { kind: 'expired' };
  return status === 'pending' ? { kind: 'usable', request } : { kind: 'settled', request };
}

/** The decision a settled request carries (a redeemed request was approved); null when pending or expired. */
export function standingDecision(request: Pick<AuthRequest, 'status'>): TokenDecision | null {
  switch (request.status) {
    case 'approved':
    case 'redeemed':
      return 'approved';
    case 'denied':
      return 'denied';
    case 'pending':
    case 'expired':
      return null;
  }
}
