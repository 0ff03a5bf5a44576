/**
 * The maintainer kiln names in what it writes for Debian (the `debian/changelog` entry of a rebuild, and the
 * `Maintainer:` of recipe builds): kiln.yaml's `maintainer`, else `kiln <kiln@HOST>` where HOST is the host's mail
 * name (`/etc/mailname`) or its host name when either is a dotted domain that is not local, else `kiln.invalid`
 * (a reserved name lintian accepts: `localhost`, a bare host name or `.localdomain` are `bogus-mail-host`).
 */
import fs from 'node:fs';
import os from 'node:os';
import type { Config } from './schema.js';

/** True for a host part lintian's `is_domain` accepts and that is not local (`localhost`, `.localdomain`, `.local`). */
export function isMailDomain(host: string): boolean {
  const h = host.trim().toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(h)) return false;
  return !/(^|\.)(localhost|localdomain|local|home\.arpa)$/.test(h);
}

/** The host part of kiln's default address: the mail name, the host name, or `kiln.invalid`. */
export function defaultMailHost(root = '/'): string {
  let mailname = '';
  try {
    mailname = fs.readFileSync(`${root.replace(/\/$/, '')}/etc/mailname`, 'utf8').trim();
  } catch {
    /* none */
  }
  for (const h of [mailname, os.hostname()]) if (isMailDomain(h)) return h.toLowerCase();
  return 'kiln.invalid';
}

/** `Name <email>` for kiln's changelog entries and packages (see the module's comment). */
export function maintainerOf(config: Pick<Config, 'maintainer'> | undefined, root = '/'): string {
  return config?.maintainer ?? `kiln <kiln@${defaultMailHost(root)}>`;
}
