/** A port's own ccache in its build, for recipe and Debian builds alike: the package, and the folder's bind. */
import fs from 'node:fs';
import path from 'node:path';
import { sandboxIds, type BindMount, type SandboxSession } from '../sandbox/index.js';
import { CCACHE_MOUNT, claimCcacheDir, type CcacheSpec } from './ccache.js';

/** The bind of a port's own ccache folder (made on the host, owned by the build user), read-write for its build steps. */
export function ccacheBind(sb: SandboxSession, c: CcacheSpec): BindMount {
  claimCcacheDir(c.dir, sandboxIds(sb).build); // the whole folder: the last build's files are another sandbox's id
  fs.mkdirSync(sb.hostPath(CCACHE_MOUNT), { recursive: true });
  return { source: c.dir, dest: CCACHE_MOUNT, readonly: false };
}

/**
 * The archive packages a build installs (`system`), with `ccache` added when the build uses a cache (`withCcache`)
 * and neither `system` nor the jail (`kiln jail create --include ccache`: faster) has it.
 */
export function systemWithCcache(system: readonly string[], withCcache: boolean, jailPath: string): readonly string[] {
  const need = withCcache && !system.includes('ccache') && !fs.existsSync(path.join(jailPath, 'usr/bin/ccache'));
  return need ? [...system, 'ccache'] : system;
}
