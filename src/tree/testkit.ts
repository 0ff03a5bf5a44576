/**
 * Helpers for tests of trees (and of commands that use trees): temporary homes, tree folders with recipes,
 * and real git repositories made with `git init`. Not part of the public surface.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { run } from '../util/exec.js';
import type { TreeScan } from './scan.js';

/** A minimal valid recipe, with optional extra YAML appended. */
export function recipe(version = '1.0', extra = ''): string {
  return `version: "${version}"\nsummary: a test port\nbuild:\n  system: make\n${extra}`;
}

/** Writes `root/ORIGIN/port.yaml` (and any extra files of the port folder). */
export function writePort(root: string, origin: string, yaml: string, files: Record<string, string> = {}): string {
  const dir = path.join(root, origin);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'port.yaml'), yaml);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** A fresh temporary folder, removed when the test ends. */
export function tmpDir(t: { after: (fn: () => void) => void }, prefix = 'kiln-tree-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const GIT_ID = ['-c', 'user.name=kiln test', '-c', 'user.email=test@kiln.invalid', '-c', 'commit.gpgsign=false'];

/** Runs git in `cwd` with a fixed identity. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await run('git', [...GIT_ID, ...args], { cwd })).stdout.trim();
}

/** Makes a git repository at `dir` on branch `main` whose first commit holds the given ports; returns its file:// URL. */
export async function gitRepo(dir: string, ports: Record<string, string>): Promise<string> {
  fs.mkdirSync(dir, { recursive: true });
  await git(dir, 'init', '--quiet', '--initial-branch=main');
  for (const [origin, yaml] of Object.entries(ports)) writePort(dir, origin, yaml);
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '--quiet', '-m', 'ports');
  return `file://${dir}`;
}

/** Commits everything in the repository at `dir`; returns the new commit. */
export async function commitAll(dir: string, message: string): Promise<string> {
  await git(dir, 'add', '-A');
  await git(dir, 'commit', '--quiet', '-m', message);
  return git(dir, 'rev-parse', 'HEAD');
}

/** Plain data of a scan, to compare two: every port (as JSON, so a lazy recipe is read whole), problems, shadows. */
export function scanData(s: TreeScan): unknown {
  return {
    ports: [...s.ports.entries()].map(([o, p]) => [o, JSON.parse(JSON.stringify(p)) as unknown]),
    problems: s.problems,
    shadowed: [...s.shadowed],
  };
}
