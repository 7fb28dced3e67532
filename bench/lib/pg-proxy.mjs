// A counting TCP relay in front of PostgreSQL, one per service, so that database round trips can be
// counted exactly per service (pg_stat_statements is usually not preloaded, and pg_stat_database
// is per database and published lazily). It parses only the frontend message framing: every
// simple Query ('Q') and every Sync ('S', the end of an extended-protocol query such as
// node-postgres sends for each parameterised statement) is one client→server round trip; every
// simple Query and every Execute ('E') is one statement (a simple Query holding several
// statements separated by ';' counts once).
import { connect, createServer } from 'node:net';

const SIMPLE_QUERY = 0x51; // 'Q'
const SYNC = 0x53; // 'S'
const EXECUTE = 0x45; // 'E'

export async function startPgProxy({ host = '127.0.0.1', port = 5432 } = {}) {
  const stats = { roundTrips: 0, statements: 0, connections: 0 };
  const sockets = new Set();
  const server = createServer((client) => {
    stats.connections++;
    const upstream = connect(port, host);
    sockets.add(client).add(upstream);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    upstream.pipe(client);

    // Frontend framing: the startup packet (and SSL/GSS/cancel requests) is [int32 length][…];
    // every later message is [type byte][int32 length including itself][…].
    let startup = true;
    let header = Buffer.alloc(0);
    let skip = 0;
    client.on('data', (chunk) => {
      let i = 0;
      while (i < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - i);
          skip -= n;
          i += n;
          continue;
        }
        const headerLength = startup ? 4 : 5;
        const take = Math.min(headerLength - header.length, chunk.length - i);
        header = Buffer.concat([header, chunk.subarray(i, i + take)]);
        i += take;
        if (header.length < headerLength) break;
        if (startup) {
          const length = header.readInt32BE(0);
          skip = length - 4;
          // An 8-byte packet is an SSL or GSS encryption request: the startup packet follows.
          if (length !== 8) startup = false;
        } else {
          const type = header[0];
          skip = header.readInt32BE(1) - 4;
          if (type === SIMPLE_QUERY || type === SYNC) stats.roundTrips++;
          if (type === SIMPLE_QUERY || type === EXECUTE) stats.statements++;
        }
        header = Buffer.alloc(0);
      }
      if (!upstream.write(chunk)) {
        client.pause();
        upstream.once('drain', () => client.resume());
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    stats,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
