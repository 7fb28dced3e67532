// The load generator, run in a worker thread so that it does not share the main thread (and its
// event loop) with the in-process reference provider and the emulated device.
//
// Messages in:  { id, op, ...args }           -> reply { id, result } or { id, error }
//               { op: 'notification', bindingMessage, decisionToken }   (flow scenario)
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

// ---- full flow ---------------------------------------------------------------------------------

const notifications = new Map(); // binding message -> decision token (arrived before anyone waited)
const waiters = new Map(); // binding message -> resolve

function onNotification({ bindingMessage, decisionToken }) {
  const waiter = waiters.get(bindingMessage);
  if (waiter) {
    waiters.delete(bindingMessage);
    waiter(decisionToken);
  } else {
    notifications.set(bindingMessage, decisionToken);
  }
}

function notificationFor(bindingMessage, timeoutMs) {
  const early = notifications.get(bindingMessage);
  if (early !== undefined) {
    notifications.delete(bindingMessage);
    return Promise.resolve(early);
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiters.delete(bindingMessage);
      reject(new Error('no device notification'));
    }, timeoutMs);
    waiters.set(bindingMessage, (token) => {
      clearTimeout(timer);
      resolve(token);
    });
  });
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
    const started = await post(endpoints.authorize, `scope=openid&login_hint=user${i % users}&binding_message=${bindingMessage}`, {
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
    const approved = await post(endpoints.callback, '{"status":"SUCCEED"}', {
      'content-type': 'application/json',
      authorization: `Bearer ${decisionToken}`,
    });
    if (approved.status !== 200) return fail(`callback ${approved.status}`);
    const tokenBody = `grant_type=${encodeURIComponent(CIBA_GRANT)}&auth_req_id=${encodeURIComponent(authReqId)}`;
    for (let attempt = 0; ; attempt++) {
      const token = await post(endpoints.token, tokenBody, { 'content-type': FORM, authorization });
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
  const wallS = (performance.now() - wallStart) / 1000;
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

const ops = { authorize, poll, flow };

parentPort.on('message', (message) => {
  if (message.op === 'notification') return onNotification(message);
  if (message.op === 'reset-notifications') {
    notifications.clear();
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
