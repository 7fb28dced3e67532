/**
 * The two scripts the enrolment page needs, served by the notifier itself (`/enrol/assets/enrol.js`
 * and `/enrol/sw.js`) so the page's CSP can stay `'self'`/nonce-only. Plain ES2017, no build step:
 * they run in the user's browser as written here.
 */

/**
 * The page script: asks for notification permission, registers the service worker (scope
 * `/enrol/`, the directory it is served from, so no `Service-Worker-Allowed` widening is needed),
 * subscribes to push with the page's VAPID key and posts `PushSubscription.toJSON()` back to the
 * page's own URL with the CSRF token. Every outcome lands in the page's live status region.
 */
export const ENROL_PAGE_SCRIPT = `'use strict';
(function () {
  var form = document.getElementById('enrol-form');
  var status = document.getElementById('enrol-status');
  if (!form || !status) return;
  var button = form.querySelector('button');
  var labelInput = document.getElementById('device-label');

  function say(text, kind) {
    status.textContent = text;
    status.className = 'status' + (kind ? ' ' + kind : '');
  }

  function keyBytes(base64url) {
    var base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
    var padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    var raw = atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !('Notification' in window)) {
    say('This browser cannot show sign-in notifications. On iPhone or iPad, add this page to your Home Screen first, then open it from there. Otherwise try another browser.', 'error');
    if (button) button.disabled = true;
    return;
  }

  async function enrol() {
    say('Setting up notifications…');
    var permission = await Notification.requestPermission();
    if (permission !== 'granted') {
      say('Notifications are not allowed for this site. Allow them in your browser settings, then try again.', 'error');
      return false;
    }
    await navigator.serviceWorker.register('sw.js', { scope: './' });
    var registration = await navigator.serviceWorker.ready;
    var subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(form.getAttribute('data-application-server-key') || '')
    });
    var response = await fetch(window.location.pathname, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': form.getAttribute('data-csrf') || '' },
      body: JSON.stringify({ subscription: subscription.toJSON(), label: labelInput ? labelInput.value : '' })
    });
    var answer = null;
    try {
      answer = await response.json();
    } catch (e) {
      answer = null;
    }
    var message = answer && typeof answer.message === 'string' ? answer.message : 'This device could not be set up. Please try again.';
    say(message, response.ok ? 'done' : 'error');
    return response.ok;
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (button) button.disabled = true;
    enrol().then(
      function (done) {
        if (done) form.hidden = true;
        else if (button) button.disabled = false;
      },
      function (error) {
        // For whoever debugs on the device: the error's kind only, never the subscription.
        console.error('device enrolment failed: ' + (error && error.name) + ': ' + (error && error.message));
        say('This device could not be set up. Please try again.', 'error');
        if (button) button.disabled = false;
      }
    );
  });
})();
`;

/**
 * The service worker. Every push shows a notification (`userVisibleOnly`); a click opens the
 * approval link only when it points at the notifier's own origin, so a forged payload cannot send
 * the user anywhere else.
 */
export function enrolServiceWorkerScript(notifierOrigin: string): string {
  return `'use strict';
var NOTIFIER_ORIGIN = ${JSON.stringify(notifierOrigin).replace(/</g, '\\u003c')};

self.addEventListener('install', function () {
  self.skipWaiting();
});

self.addEventListener('activate', function (event) {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('push', function (event) {
  var data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (e) {
    data = {};
  }
  var title = typeof data.title === 'string' && data.title ? data.title : 'Sign-in request';
  var body = typeof data.body === 'string' ? data.body : 'Open to review this sign-in request.';
  var url = typeof data.url === 'string' ? data.url : null;
  event.waitUntil(self.registration.showNotification(title, { body: body, data: { url: url }, requireInteraction: true }));
});

function isOurs(url) {
  try {
    return new URL(url).origin === NOTIFIER_ORIGIN;
  } catch (e) {
    return false;
  }
}

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  var url = event.notification.data && event.notification.data.url;
  if (typeof url === 'string' && isOurs(url)) event.waitUntil(self.clients.openWindow(url));
});
`;
}
