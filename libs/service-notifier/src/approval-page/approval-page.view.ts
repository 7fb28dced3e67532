import { describeScope, escapeHtml, minutesLeft, summarizeAuthorizationDetails } from '@ciba/channels';

/** Everything the decision page shows; all strings are client or user controlled and escaped here. */
export interface DecisionPageModel {
  readonly clientName: string;
  readonly bindingMessage: string | null;
  readonly scope: readonly string[];
  readonly authorizationDetails: readonly Readonly<Record<string, unknown>>[] | null;
  readonly expiresAt: Date;
  readonly now: Date;
  /** Where the form posts: the link's own path. */
  readonly actionPath: string;
  readonly csrfToken: string;
  /** The CSP nonce of the one inline style block (and of the step-up script, when there is one). */
  readonly nonce: string;
  /** Set when the request needs a passkey to be approved (see `StepUpModel`); absent otherwise. */
  readonly stepUp?: StepUpModel;
}

/**
 * A request that needs passkey step-up: either Approve runs the passkey ceremony with these
 * WebAuthn options (the page's script, served from `scriptPath` on this origin), or the user has no
 * passkey this page could use and only Deny is offered.
 */
export type StepUpModel =
  | { readonly kind: 'ceremony'; readonly options: unknown; readonly scriptPath: string }
  | { readonly kind: 'no-passkey' };

export interface MessagePageModel {
  readonly title: string;
  readonly message: string;
  readonly nonce: string;
}

/**
 * Strict policy: nothing loads but the nonce'd style block, forms post only back here, no framing.
 * There are no scripts on these pages at all, except the passkey step-up page (`stepUpPageCsp`).
 */
export function approvalPageCsp(nonce: string): string {
  return `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; img-src 'none'`;
}

/** The approval page's policy plus exactly what the passkey ceremony needs: our own script, by nonce, and this origin. */
export function stepUpPageCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; img-src 'none'`;
}

// Contrast (WCAG AA): #18181b on #fff ≈ 17:1; white on #0b6e2f ≈ 6.6:1; white on #8a1c1c ≈ 9:1;
// #3f3f46 on #fff ≈ 10:1. The focus ring is a thick outline offset from the button, visible on both.
const STYLES = `
*{box-sizing:border-box}
body{margin:0;background:#ffffff;color:#18181b;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
main{max-width:32rem;margin:0 auto;padding:1.5rem 1rem 2rem}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}
h2{font-size:1rem;margin:1.5rem 0 .5rem}
p{margin:0 0 1rem}
ul{margin:0 0 1rem;padding-left:1.5rem}
.binding{margin:0 0 1rem;padding:.75rem 1rem;border-left:4px solid #1d4ed8;background:#eff6ff;font-size:1.25rem;font-weight:700;overflow-wrap:anywhere}
.client{overflow-wrap:anywhere}
.expiry{font-weight:700}
.note{color:#3f3f46;font-size:.875rem}
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:1.5rem 0 1rem}
button{flex:1 1 10rem;min-height:3rem;padding:.75rem 1rem;border:0;border-radius:.375rem;color:#ffffff;font:inherit;font-weight:700;cursor:pointer}
button:focus-visible{outline:3px solid #18181b;outline-offset:3px;box-shadow:0 0 0 2px #ffffff inset}
.approve{background:#0b6e2f}
.deny{background:#8a1c1c}
button:disabled{opacity:.6;cursor:default}
.status{min-height:1.5rem;font-weight:700}
.status.error{color:#8a1c1c}
.status.done{color:#0b6e2f}
.step-up{margin:0 0 1rem;padding:.75rem 1rem;border-left:4px solid #0b6e2f;background:#f0fdf4}
.step-up.missing{border-left-color:#8a1c1c;background:#fef2f2}
`;

/** The page frame every notifier page shares; `extraStyles` go into the same nonce'd style block. */
export function layout(title: string, nonce: string, body: string, extraStyles = ''): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style nonce="${escapeHtml(nonce)}">${STYLES}${extraStyles}</style>`,
    '</head>',
    '<body>',
    '<main>',
    body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The page that asks the user to approve or deny one sign-in request. */
export function renderDecisionPage(m: DecisionPageModel): string {
  const e = escapeHtml;
  const scopes = m.scope.map(describeScope);
  const details = summarizeAuthorizationDetails(m.authorizationDetails);
  const minutes = minutesLeft(m.expiresAt, m.now);
  const body = [
    '<h1>Sign-in request</h1>',
    `<p><strong class="client">${e(m.clientName)}</strong> is asking you to approve a sign-in.</p>`,
    ...(m.bindingMessage
      ? [
          '<p id="binding-label">Check that this message matches the one shown where you started:</p>',
          `<p class="binding" aria-labelledby="binding-label">${e(m.bindingMessage)}</p>`,
        ]
      : []),
    ...(scopes.length ? ['<h2>It asks for</h2>', '<ul>', ...scopes.map((s) => `<li>${e(s)}</li>`), '</ul>'] : []),
    ...(details.length
      ? [
          '<h2>Details</h2>',
          '<ul>',
          ...details.map(
            (d) =>
              `<li><strong>${e(d.type)}</strong>` +
              (d.fields.length ? `<ul>${d.fields.map((f) => `<li>${e(f.label)}: ${e(f.value)}</li>`).join('')}</ul>` : '') +
              '</li>',
          ),
          '</ul>',
        ]
      : []),
    `<p class="expiry">This request expires in ${minutes} ${minutes === 1 ? 'minute' : 'minutes'}.</p>`,
    ...decisionForm(m),
    '<p class="note">If you did not start this sign-in, deny it. Nothing happens without your approval.</p>',
  ].join('\n');
  return layout(`Sign-in request from ${m.clientName}`, m.nonce, body);
}

/** The Approve/Deny form; with step-up, Approve first runs the passkey ceremony, or is not offered without a passkey. */
function decisionForm(m: DecisionPageModel): string[] {
  const e = escapeHtml;
  const approve = '<button type="submit" name="decision" value="approve" class="approve">Approve</button>';
  const deny = '<button type="submit" name="decision" value="deny" class="deny">Deny</button>';
  const csrf = `<input type="hidden" name="csrf" value="${e(m.csrfToken)}">`;
  const stepUp = m.stepUp;
  if (stepUp === undefined) {
    return [`<form method="post" action="${e(m.actionPath)}">`, csrf, '<div class="actions">', approve, deny, '</div>', '</form>'];
  }
  if (stepUp.kind === 'no-passkey') {
    return [
      '<p class="step-up missing"><strong>This request needs a passkey.</strong> You have not added a passkey that works here, so you cannot approve it on this page. You can still deny it.</p>',
      `<form method="post" action="${e(m.actionPath)}">`,
      csrf,
      '<div class="actions">',
      deny,
      '</div>',
      '</form>',
    ];
  }
  return [
    '<p class="step-up"><strong>This request needs your passkey.</strong> When you press Approve, confirm with your fingerprint, face or screen lock.</p>',
    '<noscript><p class="status error">Approving this request needs JavaScript for the passkey check. You can still deny it.</p></noscript>',
    // The options are JSON in an attribute, escaped like any other: the script reads them with getAttribute.
    `<form id="decision-form" method="post" action="${e(m.actionPath)}" data-step-up-options="${e(JSON.stringify(stepUp.options))}">`,
    csrf,
    '<input type="hidden" id="assertion" name="assertion" value="">',
    '<div class="actions">',
    approve,
    deny,
    '</div>',
    '</form>',
    '<p id="step-up-status" class="status" role="status" aria-live="polite"></p>',
    `<script nonce="${e(m.nonce)}" src="${e(stepUp.scriptPath)}"></script>`,
  ];
}

/** Outcome and error pages: a heading and one sentence. */
export function renderMessagePage(m: MessagePageModel): string {
  return layout(m.title, m.nonce, `<h1>${escapeHtml(m.title)}</h1>\n<p>${escapeHtml(m.message)}</p>`);
}
