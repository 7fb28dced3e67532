// The emulated authentication device: an HTTP server speaking the HTTP authentication channel
// (README, "The HTTP authentication channel"). It answers 200 at once and hands each notification
// (binding message, login hint, decision token) to `onNotification`, which the flow scenario uses
// to approve. Nothing is kept per notification beyond counters, so long runs stay flat in memory.
import { createServer } from 'node:http';

export async function startDevice() {
  const device = {
    url: '',
    received: 0,
    malformed: 0,
    /** (notification: { bindingMessage, loginHint, decisionToken }) => void */
    onNotification: null,
    close: null,
  };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      device.received++;
      const auth = req.headers.authorization ?? '';
      let body = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        device.malformed++;
        return;
      }
      if (device.onNotification && auth.startsWith('Bearer ')) {
        device.onNotification({ bindingMessage: body.binding_message, loginHint: body.login_hint, decisionToken: auth.slice(7) });
      }
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  device.url = `http://127.0.0.1:${server.address().port}/ciba/notify`;
  device.close = async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(() => resolve()));
  };
  return device;
}
