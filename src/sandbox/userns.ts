/**
 * The sandbox's user namespace (as sbuild's and mmdebstrap's unshare modes): uid and gid 0..65535 inside are host
 * ids BASE..BASE+65535, a range no host user has, different per sandbox. Root in the sandbox is then nobody on the
 * host: its capabilities hold only in its own namespaces, device nodes cannot be made, and files of the host
 * (owned by host ids outside the range) are "nobody" inside, writable by no one there.
 *
 * The jail's files are owned by host root. So that they are root's inside, the sandbox's overlay is mounted over an
 * *idmapped* bind mount of the jail (`mount_setattr(MOUNT_ATTR_IDMAP)`, Linux ≥ 5.19 for overlayfs layers): through
 * it the jail's uid 0 reads as BASE. Copy-ups and new files land in the upper layer with host ids BASE+N, so the
 * build user (uid 2000 inside) is BASE+2000 on disk. util-linux 2.38 and bubblewrap 0.8 cannot make idmapped
 * mounts, so a small C helper does (compiled once with `cc`, kept root-owned under `/usr/local/libexec/kiln`): it
 * makes the namespace with the mapping, keeps it alive by bind-mounting its nsfs file at `DIR/ns`, and idmaps each
 * SRC onto DST. Commands enter it with `nsenter --user=DIR/ns --setuid=0 --setgid=0` before bubblewrap.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { run } from '../util/exec.js';

/** Ids mapped per sandbox (0..65535 inside). */
export const USERNS_SIZE = 65536;
/** First host id of the sandboxes' ranges (2^28: far above any /etc/subuid range or real user). */
const BASE0 = 0x10000000;
/** Number of distinct ranges handed out (random per sandbox). */
const SLOTS = 8192;

/** A random host id range for one sandbox: its BASE. */
export function pickIdBase(): number {
  return BASE0 + crypto.randomInt(SLOTS) * USERNS_SIZE;
}

/**
 * The helper's source: `kiln-idmap OP...` with ops `userns BASE COUNT NSFILE` (make the namespace, keep it at
 * NSFILE), `idmap SRC DST` (an idmapped bind through it), `overlay LOWER UPPER WORK DST` and `bind SRC DST`, done in
 * order in one process (one exec per sandbox instead of four).
 */
const HELPER_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/mount.h>
static void die(const char *m) { perror(m); exit(1); }
static int same_ns(pid_t c) {
  char f[64], a[64], b[64]; snprintf(f, sizeof f, "/proc/%d/ns/user", c);
  ssize_t n1 = readlink(f, a, 63), n2 = readlink("/proc/self/ns/user", b, 63);
  return n1 <= 0 || n2 <= 0 || (n1 == n2 && memcmp(a, b, n1) == 0);
}
static void writef(const char *f, const char *s) {
  int fd = open(f, O_WRONLY | O_CLOEXEC); if (fd < 0 || write(fd, s, strlen(s)) < 0) die(f); close(fd);
}
static int userns(const char *base, const char *count, const char *nsfile, int *gate, pid_t *child) {
  int p[2]; if (pipe(p)) die("pipe");
  pid_t c = fork(); if (c < 0) die("fork");
  if (c == 0) { char b; close(p[1]); if (unshare(CLONE_NEWUSER)) _exit(1); if (read(p[0], &b, 1) < 0) _exit(1); _exit(0); }
  close(p[0]);
  for (int i = 0; i < 200000 && same_ns(c); i++) usleep(20);
  if (same_ns(c)) { fprintf(stderr, "kiln-idmap: no user namespace was made\n"); exit(1); }
  char f[64], m[96];
  snprintf(m, sizeof m, "0 %s %s\n", base, count);
  snprintf(f, sizeof f, "/proc/%d/uid_map", c); writef(f, m);
  snprintf(f, sizeof f, "/proc/%d/gid_map", c); writef(f, m);
  snprintf(f, sizeof f, "/proc/%d/ns/user", c);
  int ns = open(f, O_RDONLY | O_CLOEXEC); if (ns < 0) die("open user ns");
  if (mount(f, nsfile, NULL, MS_BIND, NULL)) die("bind the user ns");
  *gate = p[1]; *child = c;
  return ns;
}
int main(int argc, char **argv) {
  int ns = -1, gate = -1; pid_t child = -1;
  for (int i = 1; i < argc;) {
    const char *op = argv[i];
    if (!strcmp(op, "userns") && i + 3 < argc) { ns = userns(argv[i + 1], argv[i + 2], argv[i + 3], &gate, &child); i += 4; }
    else if (!strcmp(op, "idmap") && i + 2 < argc && ns >= 0) {
      int t = syscall(SYS_open_tree, AT_FDCWD, argv[i + 1], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC); if (t < 0) die("open_tree");
      struct mount_attr a; memset(&a, 0, sizeof a); a.attr_set = MOUNT_ATTR_IDMAP; a.userns_fd = ns;
      if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &a, sizeof a)) die("mount_setattr idmap");
      if (syscall(SYS_move_mount, t, "", AT_FDCWD, argv[i + 2], MOVE_MOUNT_F_EMPTY_PATH)) die("move_mount");
      close(t); i += 3;
    } else if (!strcmp(op, "overlay") && i + 4 < argc) {
      char o[8192];
      if (snprintf(o, sizeof o, "lowerdir=%s,upperdir=%s,workdir=%s,volatile", argv[i + 1], argv[i + 2], argv[i + 3]) >= (int)sizeof o) die("overlay options");
      if (mount("overlay", argv[i + 4], "overlay", 0, o)) die("mount overlay");
      i += 5;
    } else if (!strcmp(op, "bind") && i + 2 < argc) {
      if (mount(argv[i + 1], argv[i + 2], NULL, MS_BIND, NULL)) die(argv[i + 1]);
      i += 3;
    } else { fprintf(stderr, "kiln-idmap: bad operation %s\n", op); return 2; }
  }
  if (gate >= 0) { close(gate); waitpid(child, 0, 0); }
  return 0;
}
`;

/** Where the compiled helper is kept (root-owned; override with `KILN_LIBEXEC`). */
function libexecDir(): string {
  return process.env.KILN_LIBEXEC ?? '/usr/local/libexec/kiln';
}

let helper: Promise<string | null> | undefined;

/**
 * The idmap helper's path, compiled on first use (with `cc`; `scripts/setup-jail-deps.sh` installs gcc), or null
 * when it cannot be made or the kernel refuses idmapped mounts (then sandboxes run without a user namespace).
 */
export function idmapHelper(): Promise<string | null> {
  helper ??= (async () => {
    const hash = crypto.createHash('sha256').update(HELPER_C).digest('hex').slice(0, 12);
    const dir = libexecDir();
    const bin = path.join(dir, `kiln-idmap-${hash}`);
    if (fs.existsSync(bin)) return bin;
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
      const tmp = `${bin}.tmp-${process.pid}`;
      await run('cc', ['-O2', '-Wall', '-x', 'c', '-', '-o', tmp], { input: HELPER_C });
      fs.chmodSync(tmp, 0o755);
      fs.renameSync(tmp, bin);
      return bin;
    } catch {
      return null;
    }
  })();
  return helper;
}

/** One operation of the helper (done in order, in one process). */
export type HelperOp =
  | readonly ['userns', number, string]
  | readonly ['idmap', string, string]
  | readonly ['overlay', string, string, string, string]
  | readonly ['bind', string, string];

/**
 * Runs helper operations: `userns` makes a user namespace mapping 0..65535 to BASE.. and keeps it at NSFILE (a
 * bind mount, undone with the sandbox's other mounts); `idmap` bind-mounts SRC at DST through it; `overlay` mounts
 * an overlayfs (volatile); `bind` bind-mounts SRC at DST (which exists, of the same kind). Throws when one fails.
 */
export async function runHelper(bin: string, ops: readonly HelperOp[]): Promise<void> {
  const args: string[] = [];
  for (const op of ops) {
    if (op[0] === 'userns') {
      fs.writeFileSync(op[2], '', { mode: 0o600 });
      args.push('userns', String(op[1]), String(USERNS_SIZE), op[2]);
    } else args.push(...op);
  }
  if (args.length > 0) await run(bin, args);
}

/**
 * Where sandboxes in a user namespace are reached from (`/run/kiln`, mode 0711): root inside is not host root and
 * cannot walk into a private kiln home, so each sandbox's root and each command's bind sources are bind-mounted at
 * `/run/kiln/ID/…` (no listing: the ids are random) for bubblewrap to take.
 */
export function gateDir(): string {
  return process.env.KILN_GATE_DIR ?? '/run/kiln';
}

/** The prefix that runs a command in the user namespace at `nsFile` as its root (uid/gid 0 inside). */
export function usernsPrefix(nsFile: string): string[] {
  return ['nsenter', `--user=${nsFile}`, '--setuid=0', '--setgid=0', '--'];
}
