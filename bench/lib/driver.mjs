// The load generator, run in a worker thread so that it does not share the main thread (and its
// event loop) with the in-process reference provider and the emulated device.
//
// Messages in:  { id, op, ...args }           -> reply { id, result } or { id, error }
//               { op: 'notification', bindingMessage, decisionToken }   (flow scenarios)
//
// It also hosts the clients' notification endpoint (the "receiver", ping and push callbacks), so
// that a callback's arrival is timed on the same clock and event loop as the client that waits
// for it, and the receiver does not share the main thread with the in-process reference.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { parentPort } from 'node:worker_threads';
import autocannon from 'autocannon';

const FORM = 'application/x-www-form-urlencoded';
const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';

const basic = (clientId, secret) => `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/**
 * autocannon only aggregates its raw result on the main thread; here, in a worker thread, it is
 * aggregated explicitly (latency percentiles from the recorded histogram). req/s is completed
 * requests over the run's wall-clock duration (autocannon's `requests.average` is the mean of
 * its per-second samples, which comes to the same figure for runs of whole seconds).
 */
function summarize(raw, options, extra = {}) {
  const result = raw.latency ? raw : autocannon.aggregateResult([raw], { url: options.url, connections: options.connections });
  const total = raw.totalCompletedRequests ?? result.requests.total;
  return {
    rps: total / result.duration,
    total,
    durationS: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([k, v]) => [k, v.count])),
    ...extra,
  };
}

function cannon(options) {
  return new Promise((resolve, reject) => {
    autocannon({ method: 'POST', timeout: 30, ...options }, (error, result) => (error ? reject(error) : resolve(summarize(result, options))));
  });
}

let sequence = 0;

/** An endpoint is one URL or the list of a service's replicas: flow `i` takes the list in turn. */
const at = (endpoint, i) => (Array.isArray(endpoint) ? endpoint[i % endpoint.length] : endpoint);

/** bc-authorize load: login_hint cycles over the users, each request has its own binding message. */
async function authorize({ url, clientId, secret, users, connections, duration, amount, tag, collect }) {
  const ids = [];
  const errorsSeen = {};
  const result = await cannon({
    url,
    connections,
    ...(amount ? { amount } : { duration }),
    headers: { 'content-type': FORM, authorization: basic(clientId, secret) },
    requests: [
      {
        setupRequest: (req) => {
          const n = sequence++;
          req.body = `scope=openid&login_hint=user${n % users}&binding_message=${tag}${n}`;
          return req;
        },
        onResponse: (status, body) => {
          if (status === 200) {
            if (collect) {
              try {
                ids.push(JSON.parse(body).auth_req_id);
              } catch {
                errorsSeen['unparsable 200'] = (errorsSeen['unparsable 200'] ?? 0) + 1;
              }
            }
          } else {
            const key = `${status} ${safeError(body)}`;
            errorsSeen[key] = (errorsSeen[key] ?? 0) + 1;
          }
        },
      },
    ],
  });
  return { ...result, ids: collect ? ids : undefined, accepted: result.ok2xx, failures: errorsSeen };
}

function safeError(body) {
  try {
    return JSON.parse(body).error ?? '?';
  } catch {
    return '?';
  }
}

/** Token endpoint polls cycling over `ids`; a 400 authorization_pending or slow_down is a pending answer. */
async function poll({ url, clientId, secret, ids, connections, duration, amount }) {
  let next = 0;
  const answers = {};
  const result = await cannon({
    url,
    connections,
    ...(amount ? { amount } : { duration }),
    headers: { 'content-type': FORM, authorization: basic(clientId, secret) },
    requests: [
      {
        setupRequest: (req) => {
          const id = ids[next++ % ids.length];
          req.body = `grant_type=${encodeURIComponent(CIBA_GRANT)}&auth_req_id=${encodeURIComponent(id)}`;
          return req;
        },
        onResponse: (status, body) => {
          const key = `${status} ${status === 200 ? 'tokens' : safeError(body)}`;
          answers[key] = (answers[key] ?? 0) + 1;
        },
      },
    ],
  });
  const pending = (answers['400 authorization_pending'] ?? 0) + (answers['400 slow_down'] ?? 0);
  return { ...result, answers, pending, unexpected: result.total - pending };
}

/**
 * A keyed rendezvous: a value may arrive before or after someone waits for it. `take` resolves with
 * it (at once if it already arrived) or rejects after `timeoutMs` with `${what}`.
 */
function createMailbox(what) {
  const arrived = new Map();
  const waiting = new Map();
  return {
    deliver(key, value) {
      const waiter = waiting.get(key);
      if (waiter) {
        waiting.delete(key);
        waiter(value);
      } else {
        arrived.set(key, value);
      }
    },
    take(key, timeoutMs) {
      if (arrived.has(key)) {
        const value = arrived.get(key);
        arrived.delete(key);
        return Promise.resolve(value);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(key);
          reject(new Error(what));
        }, timeoutMs);
        waiting.set(key, (value) => {
          clearTimeout(timer);
          resolve(value);
        });
      });
    },
    clear: () => arrived.clear(),
    get waiting() {
      return waiting.size;
    },
    get unclaimed() {
      return arrived.size;
    },
  };
}

// ---- full flow ---------------------------------------------------------------------------------

const notifications = createMailbox('no device notification'); // binding message -> decision token
const onNotification = ({ bindingMessage, decisionToken }) => notifications.deliver(bindingMessage, decisionToken);
const notificationFor = (bindingMessage, timeoutMs) => notifications.take(bindingMessage, timeoutMs);

/** `concurrency` workers run `oneFlow` back to back until `deadline`; returns the wall time in seconds. */
async function runWorkers(concurrency, deadline, oneFlow, fail) {
  const wallStart = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        try {
          await oneFlow();
        } catch (error) {
          fail(`exception ${error?.cause?.code ?? error?.message ?? error}`);
        }
      }
    }),
  );
  return (performance.now() - wallStart) / 1000;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

const round = (x) => (x === null ? null : Math.round(x * 10) / 10);

/**
 * `concurrency` independent clients, each repeating one complete flow until `duration` seconds
 * have passed: bc-authorize -> (device notification) -> device approves -> one token request.
 */
async function flow({ endpoints, clientId, secret, users, concurrency, duration, tag, notificationTimeoutMs = 15_000 }) {
  const authorization = basic(clientId, secret);
  const deadline = performance.now() + duration * 1000;
  const flows = [];
  const toNotification = [];
  const failures = {};
  let extraPolls = 0;
  let n = 0;
  const fail = (why) => (failures[why] = (failures[why] ?? 0) + 1);

  const post = (url, body, headers) =>
    fetch(url, { method: 'POST', headers, body }).then(async (res) => ({ status: res.status, body: await res.text() }));

  async function oneFlow() {
    const i = n++;
    const bindingMessage = `${tag}${i}`;
    const t0 = performance.now();
    const started = await post(at(endpoints.authorize, i), `scope=openid&login_hint=user${i % users}&binding_message=${bindingMessage}`, {
      'content-type': FORM,
      authorization,
    });
    if (started.status !== 200) return fail(`bc-authorize ${started.status} ${safeError(started.body)}`);
    const { auth_req_id: authReqId } = JSON.parse(started.body);
    let decisionToken;
    try {
      decisionToken = await notificationFor(bindingMessage, notificationTimeoutMs);
    } catch {
      return fail('no device notification');
    }
    const t1 = performance.now();
    const approved = await post(at(endpoints.callback, i), '{"status":"SUCCEED"}', {
      'content-type': 'application/json',
      authorization: `Bearer ${decisionToken}`,
    });
    if (approved.status !== 200) return fail(`callback ${approved.status}`);
    const tokenBody = `grant_type=${encodeURIComponent(CIBA_GRANT)}&auth_req_id=${encodeURIComponent(authReqId)}`;
    for (let attempt = 0; ; attempt++) {
      const token = await post(at(endpoints.token, i + attempt), tokenBody, { 'content-type': FORM, authorization });
      if (token.status === 200) {
        if (!JSON.parse(token.body).access_token) return fail('200 without access_token');
        break;
      }
      const error = safeError(token.body);
      // The device's decision is committed before the callback answers, so a still-pending answer
      // here would be a consistency bug; retry a few times (counted) rather than hide it.
      if ((error === 'authorization_pending' || error === 'slow_down') && attempt < 20) {
        extraPolls++;
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      return fail(`token ${token.status} ${error}`);
    }
    const t2 = performance.now();
    if (t0 < deadline) {
      flows.push(t2 - t0);
      toNotification.push(t1 - t0);
    }
  }

  const wallS = await runWorkers(concurrency, deadline, oneFlow, fail);
  flows.sort((a, b) => a - b);
  toNotification.sort((a, b) => a - b);
  return {
    completed: flows.length,
    wallS: round(wallS),
    flowsPerS: round(flows.length / wallS),
    p50: round(percentile(flows, 50)),
    p99: round(percentile(flows, 99)),
    notifyP50: round(percentile(toNotification, 50)),
    notifyP99: round(percentile(toNotification, 99)),
    failures,
    failed: Object.values(failures).reduce((a, b) => a + b, 0),
    extraPolls,
  };
}

// ---- client notification endpoint (ping / push receiver) ----------------------------------------

const callbacks = createMailbox('no client notification'); // auth_req_id -> callback
const receiverStats = { received: 0, malformed: 0, unmatched: 0 };
let receiverServers = [];

const onCallback = (callback) => callbacks.deliver(callback.authReqId, callback);
/** Must be called before the callback can arrive (or it is picked up from the mailbox). */
const callbackFor = (authReqId, timeoutMs) => callbacks.take(authReqId, timeoutMs);

/** Answers 204 as soon as the body has arrived; the arrival time is taken before anything else. */
function receive(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const at = performance.now();
    res.writeHead(204).end();
    receiverStats.received++;
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      receiverStats.malformed++;
      return;
    }
    if (typeof body?.auth_req_id !== 'string') {
      receiverStats.malformed++;
      return;
    }
    onCallback({ at, path: req.url, authorization: req.headers.authorization ?? '', authReqId: body.auth_req_id, body });
  });
}

/** Plain HTTP on 127.0.0.1 (ours), and the same handler over HTTPS when a certificate is given (the reference). */
async function startReceiver({ cert, key } = {}) {
  const listen = async (server) => {
    server.keepAliveTimeout = 60_000;
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiverServers.push(server);
    return server.address().port;
  };
  const httpPort = await listen(createServer(receive));
  const httpsPort = cert && key ? await listen(createTlsServer({ cert, key }, receive)) : null;
  return {
    httpOrigin: `http://127.0.0.1:${httpPort}`,
    httpsOrigin: httpsPort ? `https://127.0.0.1:${httpsPort}` : null,
  };
}

async function stopReceiver() {
  const servers = receiverServers;
  receiverServers = [];
  await Promise.all(
    servers.map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    }),
  );
  return receiverStats;
}

/**
 * Ping and push flows: `concurrency` clients, each repeating until `duration` seconds have passed:
 * bc-authorize (with a client_notification_token) -> device notification -> `approveAfterMs` later
 * t0, the device approves -> ping: the ping arrives at the receiver, then one token request; t1 = its 200 with
 * tokens; push: t1 = the push with the tokens arriving at the receiver. The approval is sent
 * without waiting for its answer (the client's path does not depend on the device's), and its
 * answer is checked afterwards.
 */
async function callbackFlow({ mode, endpoints, clientId, secret, users, concurrency, duration, tag, approveAfterMs = 0, timeoutMs = 15_000 }) {
  const authorization = basic(clientId, secret);
  const deadline = performance.now() + duration * 1000;
  const series = { approvalToTokens: [], whole: [], toNotification: [], approvalToCallback: [], tokenCall: [], approvalAnswer: [] };
  const failures = {};
  let extraPolls = 0;
  let refreshTokens = 0;
  let n = 0;
  const fail = (why) => (failures[why] = (failures[why] ?? 0) + 1);
  const post = (url, body, headers) =>
    fetch(url, { method: 'POST', headers, body }).then(async (res) => ({ status: res.status, body: await res.text(), at: performance.now() }));

  async function oneFlow() {
    const i = n++;
    const bindingMessage = `${tag}${i}`;
    const notificationToken = randomBytes(18).toString('base64url');
    const tStart = performance.now();
    const started = await post(
      at(endpoints.authorize, i),
      `scope=${encodeURIComponent('openid offline_access')}&login_hint=user${i % users}&binding_message=${bindingMessage}&client_notification_token=${notificationToken}`,
      { 'content-type': FORM, authorization },
    );
    if (started.status !== 200) return fail(`bc-authorize ${started.status} ${safeError(started.body)}`);
    const { auth_req_id: authReqId } = JSON.parse(started.body);
    let decisionToken;
    try {
      decisionToken = await notificationFor(bindingMessage, timeoutMs);
    } catch {
      return fail('no device notification');
    }
    const tNotified = performance.now();
    // The user takes a moment to answer (BENCH_APPROVE_AFTER_MS); the request stays pending meanwhile.
    if (approveAfterMs > 0) await new Promise((resolve) => setTimeout(resolve, approveAfterMs));
    const arrival = callbackFor(authReqId, timeoutMs);
    const t0 = performance.now();
    const approval = post(at(endpoints.callback, i), '{"status":"SUCCEED"}', { 'content-type': 'application/json', authorization: `Bearer ${decisionToken}` }).catch(
      (error) => ({ status: `exception ${error?.cause?.code ?? error?.message}`, at: performance.now() }),
    );
    let callback;
    try {
      callback = await arrival;
    } catch {
      const answer = await approval;
      return fail(answer.status === 200 ? `no ${mode} callback` : `callback ${answer.status}`);
    }
    if (callback.authorization !== `Bearer ${notificationToken}`) return fail(`${mode}: wrong bearer`);
    let t1;
    let tokens;
    if (mode === 'ping') {
      if (Object.keys(callback.body).length !== 1) return fail('ping: body is not just auth_req_id');
      const tokenBody = `grant_type=${encodeURIComponent(CIBA_GRANT)}&auth_req_id=${encodeURIComponent(authReqId)}`;
      for (let attempt = 0; ; attempt++) {
        const token = await post(at(endpoints.token, i + attempt), tokenBody, { 'content-type': FORM, authorization });
        if (token.status === 200) {
          t1 = token.at;
          tokens = JSON.parse(token.body);
          break;
        }
        const error = safeError(token.body);
        // A ping means the result is ready; a pending answer after it is a consistency bug (counted).
        if ((error === 'authorization_pending' || error === 'slow_down') && attempt < 20) {
          extraPolls++;
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        return fail(`token ${token.status} ${error}`);
      }
    } else {
      t1 = callback.at;
      tokens = callback.body;
      if (tokens.error) return fail(`push error ${tokens.error}`);
    }
    if (!tokens.access_token || !tokens.id_token) return fail(`${mode}: no access_token/id_token`);
    const answer = await approval;
    if (answer.status !== 200) return fail(`callback ${answer.status}`);
    if (tStart < deadline) {
      if (tokens.refresh_token) refreshTokens++;
      series.approvalToTokens.push(t1 - t0);
      series.whole.push(t1 - tStart);
      series.toNotification.push(tNotified - tStart);
      series.approvalToCallback.push(callback.at - t0);
      if (mode === 'ping') series.tokenCall.push(t1 - callback.at);
      series.approvalAnswer.push(answer.at - t0);
    }
  }

  const wallS = await runWorkers(concurrency, deadline, oneFlow, fail);
  const stats = Object.fromEntries(
    Object.entries(series).map(([name, values]) => {
      values.sort((a, b) => a - b);
      return [name, { p50: round(percentile(values, 50)), p99: round(percentile(values, 99)), max: round(values.at(-1) ?? null) }];
    }),
  );
  const completed = series.whole.length;
  return {
    completed,
    wallS: round(wallS),
    flowsPerS: round(completed / wallS),
    p50: stats.approvalToTokens.p50,
    p99: stats.approvalToTokens.p99,
    stats,
    refreshTokens,
    failures,
    failed: Object.values(failures).reduce((a, b) => a + b, 0),
    extraPolls,
  };
}

const ops = { authorize, poll, flow, callbackFlow, startReceiver, stopReceiver, receiverStats: async () => ({ ...receiverStats, waiting: callbacks.waiting, unclaimed: callbacks.unclaimed }) };

parentPort.on('message', (message) => {
  if (message.op === 'notification') return onNotification(message);
  if (message.op === 'reset-notifications') {
    notifications.clear();
    callbacks.clear();
    return undefined;
  }
  const handler = ops[message.op];
  if (!handler) return parentPort.postMessage({ id: message.id, error: `unknown op ${message.op}` });
  handler(message.args).then(
    (result) => parentPort.postMessage({ id: message.id, result }),
    (error) => parentPort.postMessage({ id: message.id, error: String(error?.stack ?? error) }),
  );
  return undefined;
});
