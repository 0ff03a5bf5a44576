/**
 * Test helpers for distributed builds: a private redis-server (127.0.0.1 or inside a network namespace, no
 * persistence, a temp dir, stopped by PID), long-running children started through `run`, and a little network of
 * namespaces (a bridge in the first one, a veth pair to each other one, addresses in a /24 that exists only inside
 * those namespaces). Everything is removed by PID / name, never by pattern.
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
export async function spawnChild(cmd: string, args: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Child> {
  let text = '';
  let exited = false;
  let pid = 0;
  let spawned: () => void = () => {};
  const started = new Promise<void>((resolve) => { spawned = resolve; });
  const done = run(cmd, args, { ...opts, allowFailure: true, maxBuffer: 1024, onSpawn: (p) => { pid = p; spawned(); },
    onOutput: (b) => { text += b.toString('utf8'); if (text.length > 4_000_000) text = text.slice(-2_000_000); } })
    .then((r): RunResult | Error => r, (e: Error) => e)
    .finally(() => { exited = true; spawned(); });
  const child: Child = {
    get pid() { return pid; },
    output: () => text,
    done,
    kill: (sig: NodeJS.Signals = 'SIGTERM') => { if (!exited && pid > 0) { try { process.kill(pid, sig); } catch { /* gone */ } } },
    waitFor: async (re: RegExp, timeoutMs = 60_000) => {
      const until = Date.now() + timeoutMs;
      while (!re.test(text)) {
        if (exited) throw new Error(`${cmd} ended before printing ${re}:\n${text.slice(-3000)}`);
        if (Date.now() > until) throw new Error(`${cmd} did not print ${re} within ${timeoutMs} ms:\n${text.slice(-3000)}`);
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
  const port = o.port ?? await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-redis-'));
  const argv = ['redis-server', '--bind', host, '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir,
    '--protected-mode', 'no', '--daemonize', 'no', '--loglevel', 'warning'];
  let child: Child | undefined;
  const start = async (): Promise<void> => {
    child = o.netns ? await spawnChild('ip', ['netns', 'exec', o.netns, ...argv]) : await spawnChild(argv[0]!, argv.slice(1));
    // Ready when it accepts a connection (probed from inside the namespace when there is one).
    for (let i = 0; i < 100; i++) {
      const probe = o.netns
        ? await run('ip', ['netns', 'exec', o.netns, 'redis-cli', '-h', host, '-p', String(port), 'ping'], { allowFailure: true, timeoutMs: 5000 }).catch(() => undefined)
        : await run('redis-cli', ['-h', host, '-p', String(port), 'ping'], { allowFailure: true, timeoutMs: 5000 }).catch(() => undefined);
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
    url: `redis://${host}:${port}`, port, pid: () => child?.pid ?? 0,
    restart: async () => { await stop(); await start(); },
    stop: async () => { await stop(); fs.rmSync(dir, { recursive: true, force: true }); },
  };
}

/** One host of a {@link TestNetwork}. */
export interface TestHost {
  /** Network namespace name. */
  readonly ns: string;
  /** Its address in the private /24. */
  readonly ip: string;
}

/** Namespaces joined by a bridge in the first one. */
export interface TestNetwork {
  readonly hosts: readonly TestHost[];
  /** Kills every process still in the namespaces (by PID) and deletes them. */
  dispose(): Promise<void>;
}

/**
 * Makes `count` network namespaces (`kiln-PID-0`, ...): the first holds a bridge with `.1`; each other one gets a
 * veth pair to that bridge and `.(10+i)`, all in `10.X.Y.0/24` which exists only inside these namespaces (no
 * interface or route is added to the host's namespace).
 */
export async function makeNetwork(count: number): Promise<TestNetwork> {
  const tag = `kiln-${process.pid}`;
  const subnet = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
  const hosts: TestHost[] = [];
  const made: string[] = [];
  const ip = (...args: string[]): Promise<RunResult> => run('ip', args, { timeoutMs: 30_000 });
  const dispose = async (): Promise<void> => {
    for (const ns of made) {
      const pids = await run('ip', ['netns', 'pids', ns], { allowFailure: true }).catch(() => undefined);
      for (const p of (pids?.stdout ?? '').split(/\s+/).filter(Boolean)) { try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } }
    }
    for (let i = 0; i < 50; i++) {
      let left = 0;
      for (const ns of made) left += ((await run('ip', ['netns', 'pids', ns], { allowFailure: true }).catch(() => undefined))?.stdout.trim() ?? '') ? 1 : 0;
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    for (const ns of made.splice(0)) await run('ip', ['netns', 'del', ns], { allowFailure: true }).catch(() => undefined);
  };
  try {
    for (let i = 0; i < count; i++) {
      const ns = `${tag}-${i}`;
      await ip('netns', 'add', ns);
      made.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
      hosts.push({ ns, ip: i === 0 ? `${subnet}.1` : `${subnet}.${10 + i}` });
    }
    const hub = hosts[0]!.ns;
    await ip('-n', hub, 'link', 'add', 'br0', 'type', 'bridge');
    await ip('-n', hub, 'addr', 'add', `${subnet}.1/24`, 'dev', 'br0');
    await ip('-n', hub, 'link', 'set', 'br0', 'up');
    for (let i = 1; i < count; i++) {
      const h = hosts[i]!;
      await ip('-n', hub, 'link', 'add', `veth${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns);
      await ip('-n', hub, 'link', 'set', `veth${i}`, 'master', 'br0', 'up');
      await ip('-n', h.ns, 'addr', 'add', `${h.ip}/24`, 'dev', 'eth0');
      await ip('-n', h.ns, 'link', 'set', 'eth0', 'up');
    }
  } catch (e) {
    await dispose();
    throw e;
  }
  return { hosts, dispose };
}
