// Consumer lag: how much of what was published the consumers (notifier, audit, callback
// dispatcher) have not finished. JetStream: num_pending + num_ack_pending of every durable consumer
// of the run's streams. In-process bus (all-in-one): the rows of its work table, queued_messages
// (one row per consumer and message, deleted on acknowledgement; a message waiting for a retry
// stays a row).
import pg from 'pg';

/** The run's streams: `<prefix>_…` and its KV bucket `KV_<prefix>_…`. */
export async function streamsOf(jsm, prefix) {
  const names = [];
  for await (const name of jsm.streams.names()) {
    if (name.startsWith(`${prefix}_`) || name.startsWith(`KV_${prefix}_`)) names.push(name);
  }
  return names;
}

export async function jetStreamLag(jsm, prefix) {
  const detail = {};
  for (const stream of await streamsOf(jsm, prefix)) {
    for await (const info of jsm.consumers.list(stream)) {
      if (!info.config.durable_name) continue; // ephemeral (a KV watcher, say): not a work queue
      detail[info.name] = (detail[info.name] ?? 0) + info.num_pending + info.num_ack_pending;
    }
  }
  return { total: Object.values(detail).reduce((a, b) => a + b, 0), detail };
}

/** `client` is a connected pg.Client on the all-in-one's database (not through its counting relay). */
export async function queueLag(client) {
  const { rows } = await client.query('SELECT consumer, count(*)::int AS n FROM queued_messages GROUP BY consumer');
  const detail = Object.fromEntries(rows.map((r) => [r.consumer, r.n]));
  return { total: rows.reduce((a, r) => a + r.n, 0), detail };
}

export async function connectedClient(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}
