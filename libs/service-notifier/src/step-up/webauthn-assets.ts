/**
 * The page scripts of passkey step-up, served by the notifier itself (`/enrol/assets/passkey.js`,
 * `/approve/assets/step-up.js`) so the pages' CSP stays nonce-only with no third-party host. Plain
 * ES2017 with no build step, using `navigator.credentials` directly: the options arrive as the JSON
 * `@simplewebauthn/server` builds (base64url strings) and the credential goes back as the JSON form
 * of `PublicKeyCredential` (WebAuthn L3 §5.1.8), converted by hand so older browsers without
 * `parseCreationOptionsFromJSON` / `toJSON()` work too. They never log a challenge or credential.
 */

/** base64url ⇄ bytes, the options' conversion, and a credential's JSON form. */
const WEBAUTHN_HELPERS = `
  function fromBase64url(value) {
    var base64 = value.replace(/-/g, '+').replace(/_/g, '/');
    var raw = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = '';
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      return { type: 'public-key', id: fromBase64url(d.id), transports: d.transports };
    });
  }

  function credentialJson(credential, response) {
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: {},
      response: response
    };
  }

  function webAuthnSupported() {
    return typeof window.PublicKeyCredential === 'function' && !!navigator.credentials && window.isSecureContext;
  }

  function readOptions(element, attribute) {
    try {
      return JSON.parse(element.getAttribute(attribute) || '');
    } catch (e) {
      return null;
    }
  }
`;

/**
 * Enrolment page: "Add a passkey" runs `navigator.credentials.create()` with the page's options and
 * posts the new credential to `<link>/passkey` with the CSRF token; the answer's `message` lands in
 * the passkey status region.
 */
export const PASSKEY_REGISTRATION_SCRIPT = `'use strict';
(function () {
${WEBAUTHN_HELPERS}
  var form = document.getElementById('passkey-form');
  var status = document.getElementById('passkey-status');
  if (!form || !status) return;
  var button = form.querySelector('button');

  function say(text, kind) {
    status.textContent = text;
    status.className = 'status' + (kind ? ' ' + kind : '');
  }

  if (!webAuthnSupported()) {
    say('This browser cannot create passkeys. Try another browser, or update this one.', 'error');
    if (button) button.disabled = true;
    return;
  }

  async function addPasskey() {
    var options = readOptions(form, 'data-passkey-options');
    if (!options) throw new Error('no passkey options');
    say('Follow your browser’s steps to create the passkey…');
    options.challenge = fromBase64url(options.challenge);
    options.user.id = fromBase64url(options.user.id);
    options.excludeCredentials = descriptors(options.excludeCredentials);
    var credential;
    try {
      credential = await navigator.credentials.create({ publicKey: options });
    } catch (error) {
      if (error && error.name === 'InvalidStateError') {
        say('This device already has a passkey for you here. You can close this page.', 'done');
        return true;
      }
      if (error && error.name === 'NotAllowedError') {
        say('No passkey was created: it was cancelled or took too long. Try again.', 'error');
        return false;
      }
      throw error;
    }
    var response = credential.response;
    var body = {
      credential: credentialJson(credential, {
        clientDataJSON: toBase64url(response.clientDataJSON),
        attestationObject: toBase64url(response.attestationObject),
        transports: typeof response.getTransports === 'function' ? response.getTransports() : []
      })
    };
    var answer = await fetch(window.location.pathname.replace(/\\/$/, '') + '/passkey', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': form.getAttribute('data-csrf') || '' },
      body: JSON.stringify(body)
    });
    var result = null;
    try {
      result = await answer.json();
    } catch (e) {
      result = null;
    }
    say(result && typeof result.message === 'string' ? result.message : 'The passkey could not be added. Open the link again and retry.', answer.ok ? 'done' : 'error');
    return answer.ok;
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (button) button.disabled = true;
    addPasskey().then(
      function (done) {
        if (done) form.hidden = true;
        else if (button) button.disabled = false;
      },
      function (error) {
        // For whoever debugs on the device: the error's kind only, never the credential.
        console.error('passkey registration failed: ' + (error && error.name));
        say('The passkey could not be added. Open the link again and retry.', 'error');
        if (button) button.disabled = false;
      }
    );
  });
})();
`;

/**
 * Approval page of a request that needs a passkey: Approve first runs
 * `navigator.credentials.get()` with the page's options, puts the assertion in the form's hidden
 * `assertion` field, and then posts the form as Approve would. Deny posts at once, untouched.
 */
export const STEP_UP_SCRIPT = `'use strict';
(function () {
${WEBAUTHN_HELPERS}
  var form = document.getElementById('decision-form');
  var status = document.getElementById('step-up-status');
  var field = document.getElementById('assertion');
  if (!form || !status || !field) return;
  var approve = form.querySelector('button[value="approve"]');
  var buttons = form.querySelectorAll('button');

  function say(text) {
    status.textContent = text;
  }

  function busy(on) {
    for (var i = 0; i < buttons.length; i++) buttons[i].disabled = on;
  }

  if (!webAuthnSupported()) {
    say('This browser cannot use passkeys, so it cannot approve this request. You can still deny it.');
    if (approve) approve.disabled = true;
    return;
  }

  async function assertPasskey() {
    var options = readOptions(form, 'data-step-up-options');
    if (!options) throw new Error('no step-up options');
    options.challenge = fromBase64url(options.challenge);
    options.allowCredentials = descriptors(options.allowCredentials);
    var credential = await navigator.credentials.get({ publicKey: options });
    var response = credential.response;
    return credentialJson(credential, {
      clientDataJSON: toBase64url(response.clientDataJSON),
      authenticatorData: toBase64url(response.authenticatorData),
      signature: toBase64url(response.signature),
      userHandle: response.userHandle ? toBase64url(response.userHandle) : undefined
    });
  }

  form.addEventListener('submit', function (event) {
    if (!approve || event.submitter !== approve) return;
    event.preventDefault();
    busy(true);
    say('Confirm with your passkey…');
    assertPasskey().then(
      function (assertion) {
        field.value = JSON.stringify(assertion);
        var decision = document.createElement('input');
        decision.type = 'hidden';
        decision.name = 'decision';
        decision.value = 'approve';
        form.appendChild(decision);
        HTMLFormElement.prototype.submit.call(form);
      },
      function (error) {
        busy(false);
        // For whoever debugs on the device: the error's kind only, never the assertion.
        console.error('passkey step-up failed: ' + (error && error.name));
        say(
          error && error.name === 'NotAllowedError'
            ? 'The passkey check was cancelled or took too long. Press Approve to try again, or Deny.'
            : 'The passkey check did not work on this device. Press Approve to try again, or Deny.'
        );
      }
    );
  });
})();
`;
