/**
 * A small agent with one dangerous tool, `makePayment`, that never runs without the user's say-so:
 * the tool is wrapped with `withApproval`, so every call first asks the user on their own device
 * (OpenID Connect CIBA) and runs only once they approve. Nothing here knows which CIBA provider it
 * talks to: the kit finds everything through the issuer's discovery document.
 *
 *   node examples/payment-agent/agent.ts --user alice --amount 42.00 --currency EUR --payee "Merchant A"
 *
 * Plain TypeScript that Node.js 22.18+ runs as is (type stripping); see README.md beside it.
 * Exit status: 0 paid, 2 not approved (denied, expired, timed out), 64 bad arguments, 1 anything else.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ApprovalNotGrantedError, type ClientCredentials, currentApproval, discover, withApproval } from '@ciba/client';

interface Payment {
  readonly amount: string;
  readonly currency: string;
  readonly payee: string;
}

/** What the bank's API would be called with; here it only reports what it would do. */
function makePayment(payment: Payment): { status: 'executed'; reference: string; payment: Payment; authorizedBy: string } {
  const approval = currentApproval();
  if (!approval) throw new Error('makePayment ran without an approval');
  // A real tool would send `approval.tokens.access_token` to the payment API, which checks its
  // authorization_details against the payment it is asked to make.
  return { status: 'executed', reference: reference(payment), payment, authorizedBy: approval.authReqId.slice(0, 8) };
}

/**
 * The same payment always gets the same short reference, shown both here and on the user's device,
 * so the user can tell that the request on their phone is this one.
 */
function reference(payment: Payment): string {
  return createHash('sha256').update(JSON.stringify([payment.amount, payment.currency, payment.payee])).digest('hex').slice(0, 6).toUpperCase();
}

/** A deterministic binding message (CIBA §7.1), at most 64 characters. */
function bindingMessage(payment: Payment): string {
  const suffix = ` (ref ${reference(payment)})`;
  const head = `Pay ${payment.amount} ${payment.currency} to `;
  const room = 64 - head.length - suffix.length;
  const payee = payment.payee.length > room ? `${payment.payee.slice(0, room - 1)}…` : payment.payee;
  return `${head}${payee}${suffix}`;
}

function usage(problem: string): never {
  process.stderr.write(`${problem}\nusage: agent.ts --user <login hint> --amount <12.34> --currency <EUR> --payee <name> [--timeout <seconds>]\n`);
  process.exit(64);
}

const { values } = parseArgs({
  options: {
    user: { type: 'string', default: 'alice' },
    amount: { type: 'string', default: '42.00' },
    currency: { type: 'string', default: 'EUR' },
    payee: { type: 'string', default: 'Merchant A' },
    timeout: { type: 'string', default: '120' },
  },
});
if (!/^\d{1,9}(\.\d{1,2})?$/.test(values.amount)) usage('--amount must be a number such as 42.00');
if (!/^[A-Z]{3}$/.test(values.currency)) usage('--currency must be an ISO 4217 code such as EUR');
if (values.payee.trim().length === 0 || values.payee.length > 140) usage('--payee must be a name of at most 140 characters');
const timeoutSeconds = Number(values.timeout);
if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) usage('--timeout must be a whole number of seconds');

const issuer = new URL(process.env['CIBA_ISSUER'] ?? 'http://localhost:3000');
const clientId = process.env['CIBA_CLIENT_ID'] ?? 'demo-client';
const clientSecret = process.env['CIBA_CLIENT_SECRET'] ?? 'demo-client-secret-change-me';
const method = process.env['CIBA_CLIENT_AUTH'] === 'client_secret_post' ? 'client_secret_post' : 'client_secret_basic';
const credentials: ClientCredentials = { method, clientSecret };
// Plain http only for a provider on this machine (the all-in-one start); anywhere else, https.
const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(issuer.hostname);

const cancel = new AbortController();
process.once('SIGINT', () => cancel.abort(new Error('cancelled by the operator')));

const payment: Payment = { amount: values.amount, currency: values.currency, payee: values.payee };
try {
  const client = await discover(issuer, clientId, credentials, { allowInsecureRequests: issuer.protocol === 'http:' && loopback });
  const pay = withApproval(makePayment, {
    client,
    action: 'payment',
    user: () => values.user,
    bindingMessage,
    // RFC 9396: the exact payment, which the provider shows the user and puts in the access token.
    authorizationDetails: (p) => [{ type: 'payment_initiation', actions: ['initiate'], instructedAmount: { currency: p.currency, amount: p.amount }, creditorName: p.payee }],
    timeoutMs: timeoutSeconds * 1000,
    signal: () => cancel.signal,
    onStarted: (_started, p) => console.log(`approval: asked ${values.user} on their device; it shows "${bindingMessage(p)}"`),
  });
  console.log(`agent: the next step is a payment of ${payment.amount} ${payment.currency} to ${payment.payee}; asking for approval first`);
  const result = await pay(payment);
  console.log(`tool: payment ${result.status}, reference ${result.reference}`);
  process.exitCode = 0;
} catch (err) {
  if (err instanceof ApprovalNotGrantedError) {
    console.log(`approval: ${err.status}${err.description ? ` (${err.description})` : ''}; the payment was not made`);
    process.exitCode = 2;
  } else if (cancel.signal.aborted) {
    console.log('approval: cancelled; the payment was not made');
    process.exitCode = 130;
  } else {
    console.error(`agent: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
