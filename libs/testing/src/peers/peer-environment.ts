import type { SmppPeer } from './smpp-peer.js';
import type { SmtpPeer } from './smtp-peer.js';

/**
 * The provider's email channel pointed at `smtp`, as an operator configures it: STARTTLS required
 * with the relay's certificate trusted through `CIBA_SMTP_CA_FILE` (plaintext when the peer has no
 * TLS), and AUTH when the peer requires it.
 */
export function smtpEnvironment(smtp: SmtpPeer): Record<string, string> {
  return {
    CIBA_EMAIL_VENDOR: 'smtp',
    CIBA_SMTP_HOST: smtp.host,
    CIBA_SMTP_PORT: String(smtp.port),
    CIBA_SMTP_FROM: '"Example ID" <no-reply@op.example>',
    ...(smtp.caFile ? { CIBA_SMTP_CA_FILE: smtp.caFile } : { CIBA_SMTP_REQUIRE_TLS: 'false' }),
    ...(smtp.credentials ? { CIBA_SMTP_USER: smtp.credentials.user, CIBA_SMTP_PASSWORD: smtp.credentials.pass } : {}),
  };
}

/** The provider's SMS channel over SMPP, bound to `smsc`. */
export function smppEnvironment(smsc: SmppPeer): Record<string, string> {
  return {
    CIBA_SMS_VENDOR: 'smpp',
    CIBA_SMPP_URL: smsc.url,
    CIBA_SMPP_SYSTEM_ID: smsc.credentials.systemId,
    CIBA_SMPP_PASSWORD: smsc.credentials.password,
    CIBA_SMPP_SOURCE_ADDR: 'ExampleID',
  };
}
