// Entry point of the reference as its own process (so that its CPU and memory are its own):
//   node bench/lib/reference-main.mjs <config.json>
// config: { clientId, clientSecret, users, ttlSeconds, pingClient?, database?: { url, poolSize } }.
// Talks to the benchmark over the IPC channel:
//   out: { type: 'ready', url, endpoints } | { type: 'notification', bindingMessage, loginHint, decisionToken } | { type: 'reply', id, … }
//   in:  { op: 'forward', id, on }  device notifications are sent out (and their decisions kept) only while on
//        { op: 'stats', id }
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { PgAdapter, SCHEMA } from './pg-adapter.mjs';
import { startReference } from './reference-op.mjs';

const config = JSON.parse(await readFile(process.argv[2], 'utf8'));
let forwarding = false;
let pool = null;
let adapter = 'memory';
if (config.database) {
  pool = new pg.Pool({ connectionString: config.database.url, max: config.database.poolSize });
  pool.on('error', () => undefined); // an idle connection closed by the server (the run ending): the next query opens another
  await pool.query(SCHEMA);
  adapter = (model) => new PgAdapter(model, pool);
}

const reference = await startReference({
  clientId: config.clientId,
  clientSecret: config.clientSecret,
  users: config.users,
  ttlSeconds: config.ttlSeconds,
  pingClient: config.pingClient,
  adapter,
  onDeviceTrigger: (notification) => {
    if (!forwarding) return false;
    process.send({ type: 'notification', ...notification });
    return true;
  },
});

process.on('message', (message) => {
  if (message.op === 'forward') {
    forwarding = Boolean(message.on);
    if (!forwarding) reference.forgetDecisions();
    process.send({ type: 'reply', id: message.id });
  } else if (message.op === 'stats') {
    process.send({ type: 'reply', id: message.id, stats: reference.stats, pendingDecisions: reference.pendingDecisions() });
  }
});

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await reference.close().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  process.exit(0);
}
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// The benchmark went away (even by SIGKILL): do not outlive it.
process.once('disconnect', stop);

process.send({ type: 'ready', url: reference.url, endpoints: reference.endpoints });
