import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../device-emulator.js';

/**
 * A nats-server of its own on 127.0.0.1 (Debian's binary), started with `config` (the server's
 * configuration syntax, e.g. an `authorization { … }` or `tls { … }` block), for what the shared
 * server cannot show: authentication and TLS.
 */
export class NatsPeer {
  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly output: () => string,
  ) {}

  /** `nats://127.0.0.1:<port>`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(config: string, binary = process.env['CIBA_TEST_NATS_SERVER'] ?? 'nats-server'): Promise<NatsPeer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'ciba-nats-peer-'));
    const file = join(dir, 'nats.conf');
    writeFileSync(file, `listen: 127.0.0.1:${port}\n${config}\n`, { mode: 0o600 });
    let output = '';
    const child = spawn(binary, ['-c', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString('utf8')));
    const peer = new NatsPeer(port, child, dir, () => output);
    const deadline = Date.now() + 10_000;
    while (!(await accepts(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await peer.close();
        throw new Error(`nats-server did not start: ${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return peer;
  }

  /** What the server logged (auth failures, TLS handshake errors). */
  get log(): string {
    return this.output();
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
