/** The bind of a port's own ccache folder into its sandbox, for recipe and Debian builds alike. */
import fs from 'node:fs';
import { sandboxIds, type BindMount, type SandboxSession } from '../sandbox/index.js';
import { CCACHE_MOUNT, claimCcacheDir, type CcacheSpec } from './ccache.js';

/** The bind of a port's own ccache folder (made on the host, owned by the build user), read-write for its build steps. */
export function ccacheBind(sb: SandboxSession, c: CcacheSpec): BindMount {
  claimCcacheDir(c.dir, sandboxIds(sb).build); // the whole folder: the last build's files are another sandbox's id
  fs.mkdirSync(sb.hostPath(CCACHE_MOUNT), { recursive: true });
  return { source: c.dir, dest: CCACHE_MOUNT, readonly: false };
}
