/**
 * Test helpers for distributed builds: a private redis-server (127.0.0.1 or inside a network namespace, no
 * persistence, a temp dir, stopped by PID), long-running children started through `run`, and a little network of
 * namespaces (a bridge in the first host, a veth pair to each other one, addresses in a private /24; the first host
 * may be the machine itself). Everything is removed by PID / name, never by pattern.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { run, type RunResult } from '../util/exec.js';

/** A child process started in the background. */
export interface Child {
  readonly pid: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Resolves when it ended. */
  readonly done: Promise<RunResult | Error>;
  /** Sends a signal to the process itself (not its group). */
  kill(sig?: NodeJS.Signals): void;
  /** Waits until `re` matches its output (bounded); throws with the output otherwise. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

/** Starts `cmd args` in the background; its output is collected. */
export async function spawnChild(
  cmd: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Child> {
  let text = '';
  let exited = false;
  let pid = 0;
  let spawned: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    spawned = resolve;
  });
  const done = run(cmd, args, {
    ...opts,
    allowFailure: true,
    maxBuffer: 1024,
    onSpawn: (p) => {
      pid = p;
      spawned();
    },
    onOutput: (b) => {
      text += b.toString('utf8');
      if (text.length > 4_000_000) text = text.slice(-2_000_000);
    },
  })
    .then(
      (r): RunResult | Error => r,
      (e: Error) => e,
    )
    .finally(() => {
      exited = true;
      spawned();
    });
  const child: Child = {
    get pid() {
      return pid;
    },
    output: () => text,
    done,
    kill: (sig: NodeJS.Signals = 'SIGTERM') => {
      if (!exited && pid > 0) {
        try {
          process.kill(pid, sig);
        } catch {
          /* gone */
        }
      }
    },
    waitFor: async (re: RegExp, timeoutMs = 60_000) => {
      const until = Date.now() + timeoutMs;
      while (!re.test(text)) {
        if (exited) throw new Error(`${cmd} ended before printing ${re}:\n${text.slice(-3000)}`);
        if (Date.now() > until)
          throw new Error(`${cmd} did not print ${re} within ${timeoutMs} ms:\n${text.slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  await started;
  if (pid === 0) throw new Error(`${cmd} did not start:\n${text}`);
  return child;
}

/** A free TCP port on 127.0.0.1 (closed again at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** A private redis-server. */
export interface TestRedis {
  readonly url: string;
  readonly port: number;
  pid(): number;
  /** Kills it (SIGKILL) and starts a new, empty one on the same address. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts redis-server on `host:port` (default 127.0.0.1 and a free port), in `netns` when given. */
export async function startRedis(o: { host?: string; port?: number; netns?: string } = {}): Promise<TestRedis> {
  const host = o.host ?? '127.0.0.1';
  const port = o.port ?? (await freePort());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-redis-'));
  const argv = [
    'redis-server',
    '--bind',
    host,
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--protected-mode',
    'no',
    '--daemonize',
    'no',
    '--loglevel',
    'warning',
  ];
  let child: Child | undefined;
  const start = async (): Promise<void> => {
    child = o.netns
      ? await spawnChild('ip', ['netns', 'exec', o.netns, ...argv])
      : await spawnChild(argv[0]!, argv.slice(1));
    // Ready when it accepts a connection (probed from inside the namespace when there is one).
    for (let i = 0; i < 100; i++) {
      const probe = o.netns
        ? await run('ip', ['netns', 'exec', o.netns, 'redis-cli', '-h', host, '-p', String(port), 'ping'], {
            allowFailure: true,
            timeoutMs: 5000,
          }).catch(() => undefined)
        : await run('redis-cli', ['-h', host, '-p', String(port), 'ping'], {
            allowFailure: true,
            timeoutMs: 5000,
          }).catch(() => undefined);
      if (probe?.stdout.trim() === 'PONG') return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`redis-server did not come up:\n${child.output()}`);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    c.kill('SIGKILL');
    await c.done;
    child = undefined;
  };
  await start();
  return {
    url: `redis://${host}:${port}`,
    port,
    pid: () => child?.pid ?? 0,
    restart: async () => {
      await stop();
      await start();
    },
    stop: async () => {
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One host of a {@link TestNetwork}. */
export interface TestHost {
  /** Network namespace name ('' for the machine's own namespace). */
  readonly ns: string;
  /** Its address in the private /24. */
  readonly ip: string;
}

/** Namespaces joined by a bridge in the first host. */
export interface TestNetwork {
  readonly hosts: readonly TestHost[];
  /** Kills every process still in the namespaces (by PID), deletes them and the bridge. */
  dispose(): Promise<void>;
}

/** `argv` run inside `ns` (as is for the machine's own namespace, ''). */
export function inNetns(ns: string, argv: readonly string[]): string[] {
  return ns ? ['ip', 'netns', 'exec', ns, ...argv] : [...argv];
}

/**
 * Makes a network of `count` hosts: the first holds a bridge with `.1`; each other one is a network namespace
 * (`kiln-PID-i`) with a veth pair to that bridge and `.(10+i)`, all in a private `10.X.Y.0/24`. The other hosts
 * have no route but to that /24.
 * - default: the first host is a namespace too (`kiln-PID-0`), and nothing is added to the machine's namespace;
 * - `hubInHost`: the first host is the machine itself (ns ''), which keeps its own route out: a master that
 *   reaches Debian's archive and distfile sites while its workers reach only it. The bridge (`kbrPID`) and the
 *   /24 on it are added to the machine's namespace and removed by `dispose` (IP forwarding is not touched).
 */
export async function makeNetwork(count: number, o: { hubInHost?: boolean } = {}): Promise<TestNetwork> {
  const tag = `kiln-${process.pid}`;
  const subnet = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
  const bridge = o.hubInHost ? `kbr${process.pid % 1_000_000_000}` : 'br0';
  const hosts: TestHost[] = [];
  const made: string[] = [];
  let bridgeMade = false;
  const ip = (...args: string[]): Promise<RunResult> => run('ip', args, { timeoutMs: 30_000 });
  const dispose = async (): Promise<void> => {
    for (const ns of made) {
      const pids = await run('ip', ['netns', 'pids', ns], { allowFailure: true }).catch(() => undefined);
      for (const p of (pids?.stdout ?? '').split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
    for (let i = 0; i < 50; i++) {
      let left = 0;
      for (const ns of made)
        left +=
          ((await run('ip', ['netns', 'pids', ns], { allowFailure: true }).catch(() => undefined))?.stdout.trim() ?? '')
            ? 1
            : 0;
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const ns of made.splice(0))
      await run('ip', ['netns', 'del', ns], { allowFailure: true }).catch(() => undefined);
    if (bridgeMade) await run('ip', ['link', 'del', bridge], { allowFailure: true }).catch(() => undefined);
    bridgeMade = false;
  };
  try {
    for (let i = 0; i < count; i++) {
      if (i === 0 && o.hubInHost) {
        hosts.push({ ns: '', ip: `${subnet}.1` });
        continue;
      }
      const ns = `${tag}-${i}`;
      await ip('netns', 'add', ns);
      made.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      hosts.push({ ns, ip: i === 0 ? `${subnet}.1` : `${subnet}.${10 + i}` });
    }
    const hub = hosts[0]!.ns;
    const inHub = (...args: string[]): string[] => (hub ? ['-n', hub, ...args] : args);
    await ip(...inHub('link', 'add', bridge, 'type', 'bridge'));
    bridgeMade = !hub;
    await ip(...inHub('addr', 'add', `${subnet}.1/24`, 'dev', bridge));
    await ip(...inHub('link', 'set', bridge, 'up'));
    for (let i = 1; i < count; i++) {
      const h = hosts[i]!;
      const veth = hub ? `veth${i}` : `kv${process.pid % 100_000_000}-${i}`;
      await ip(...inHub('link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns));
      await ip(...inHub('link', 'set', veth, 'master', bridge, 'up'));
      await ip('-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0');
      await ip('-n', h.ns, 'link', 'set', 'eth0', 'up');
    }
  } catch (e) {
    await dispose();
    throw e;
  }
  return { hosts, dispose };
}
