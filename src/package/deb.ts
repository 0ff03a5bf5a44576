/**
 * Builds a `.deb` from a staged DESTDIR with `dpkg-deb --build --root-owner-group`: writes `DEBIAN/control`,
 * `md5sums`, `conffiles` and the maintainer scripts into the staging root for the time of the build, and removes
 * them again. With `SOURCE_DATE_EPOCH` set the same tree gives the same bytes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { KilnError } from '../util/errors.js';
import { ExecError, run } from '../util/exec.js';
import { renderControl, type ControlFields } from './control.js';
import { walkFiles } from './shlibs.js';

/** Maintainer scripts a package may carry, in the order they are written. */
export const MAINTAINER_SCRIPTS = ['preinst', 'postinst', 'prerm', 'postrm'] as const;
/** One of {@link MAINTAINER_SCRIPTS}. */
export type MaintainerScript = (typeof MAINTAINER_SCRIPTS)[number];
/** Control files besides `control`, `md5sums`, `conffiles` and the scripts that a package may carry. */
export const CONTROL_FILES = ['shlibs', 'symbols', 'triggers'] as const;
/** One of {@link CONTROL_FILES}. */
export type ControlFileName = (typeof CONTROL_FILES)[number];

/** What {@link buildDeb} needs. */
export interface BuildDebOptions {
  /** The staged install root (DESTDIR); must not hold a `DEBIAN` folder. */
  readonly destdir: string;
  /** Folder the `.deb` is written to (created if missing). */
  readonly outDir: string;
  /** Control fields; `installedSize` is computed when absent. */
  readonly control: ControlFields;
  /** Absolute paths of conffiles; each must be a regular file in `destdir`. */
  readonly conffiles?: readonly string[];
  /** Maintainer scripts; a script without `#!` gets `#!/bin/sh` and `set -e` put in front. */
  readonly scripts?: Readonly<Partial<Record<MaintainerScript, string>>>;
  /** Further control files written as given (0644): `shlibs`, `symbols`, `triggers`. */
  readonly controlFiles?: Readonly<Partial<Record<ControlFileName, string>>>;
  /** Seconds since the epoch for timestamps (SOURCE_DATE_EPOCH); default: the environment's, else 0. */
  readonly sourceDateEpoch?: number;
  /** Compression of the data member (default xz). */
  readonly compression?: 'xz' | 'gzip' | 'zstd' | 'none';
  /** Aborts dpkg-deb. */
  readonly signal?: AbortSignal;
}

/** The `.deb` file name dpkg would give: `NAME_VERSION_ARCH.deb`, the epoch left out. */
export function debFileName(c: Pick<ControlFields, 'package' | 'version' | 'architecture'>): string {
  return `${c.package}_${c.version.replace(/^\d+:/, '')}_${c.architecture}.deb`;
}

/** Installed-Size in KiB as dpkg-gencontrol counts it: each file rounded up to whole KiB, each other entry 1. */
export function installedSizeKiB(root: string, skip: readonly string[] = ['DEBIAN']): number {
  const { files, others } = walkFiles(root, skip);
  let kib = others.length;
  for (const f of files) kib += Math.ceil(fs.statSync(path.join(root, f)).size / 1024);
  return kib;
}

/** `DEBIAN/md5sums` text for every regular file of the staged tree (sorted by path). */
export function md5sums(root: string, skip: readonly string[] = ['DEBIAN']): string {
  return walkFiles(root, skip)
    .files.map(
      (f) =>
        `${crypto
          .createHash('md5')
          .update(fs.readFileSync(path.join(root, f)))
          .digest('hex')}  ${f}\n`,
    )
    .join('');
}

function fail(message: string, hint: string, cause?: unknown): KilnError {
  return new KilnError('KILN_E_PACKAGE', message, { hint, exitCode: 1, ...(cause === undefined ? {} : { cause }) });
}

/**
 * Builds the package and returns the path of the `.deb` (`OUTDIR/NAME_VERSION_ARCH.deb`, replaced atomically).
 * Throws KILN_E_PACKAGE for a bad control field, a conffile that is not in the tree, a `DEBIAN` folder already in
 * DESTDIR, or a dpkg-deb failure (its message included).
 */
export async function buildDeb(o: BuildDebOptions): Promise<string> {
  const root = path.resolve(o.destdir);
  if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory())
    throw fail(`${root} is not a folder`, 'the install step must fill DESTDIR');
  const debian = path.join(root, 'DEBIAN');
  if (fs.existsSync(debian))
    throw fail(
      `${debian} exists: the install step put a DEBIAN folder in DESTDIR`,
      "remove it in the recipe's install step",
    );
  for (const c of o.conffiles ?? []) {
    if (!c.startsWith('/') || c.split('/').includes('..'))
      throw fail(`conffile ${c} must be an absolute path`, 'fix install.conffiles');
    if (!fs.statSync(path.join(root, c), { throwIfNoEntry: false })?.isFile()) {
      throw fail(
        `conffile ${c} is not a regular file in the package`,
        'install it into DESTDIR or drop it from install.conffiles',
      );
    }
  }
  const control = renderControl({ ...o.control, installedSize: o.control.installedSize ?? installedSizeKiB(root) });
  const sums = md5sums(root);
  const epoch = o.sourceDateEpoch ?? (Number(process.env.SOURCE_DATE_EPOCH) || 0);
  fs.mkdirSync(o.outDir, { recursive: true });
  const out = path.join(path.resolve(o.outDir), debFileName(o.control));
  const tmp = `${out}.${process.pid}.tmp`;
  fs.chmodSync(root, 0o755);
  fs.mkdirSync(debian, { mode: 0o755 });
  try {
    const write = (name: string, text: string, mode: number): void => {
      const p = path.join(debian, name);
      fs.writeFileSync(p, text, { mode });
      fs.chmodSync(p, mode);
    };
    write('control', control, 0o644);
    if (sums !== '') write('md5sums', sums, 0o644);
    if ((o.conffiles ?? []).length > 0) write('conffiles', `${[...new Set(o.conffiles)].join('\n')}\n`, 0o644);
    for (const name of CONTROL_FILES) {
      const text = o.controlFiles?.[name];
      if (text !== undefined && text.trim() !== '') write(name, text.endsWith('\n') ? text : `${text}\n`, 0o644);
    }
    for (const name of MAINTAINER_SCRIPTS) {
      const body = o.scripts?.[name];
      if (typeof body !== 'string' || body.trim() === '') continue;
      const text = body.startsWith('#!') ? body : `#!/bin/sh\nset -e\n${body}`;
      write(name, text.endsWith('\n') ? text : `${text}\n`, 0o755);
    }
    const when = new Date(epoch * 1000);
    for (const n of fs.readdirSync(debian)) fs.utimesSync(path.join(debian, n), when, when);
    fs.utimesSync(debian, when, when);
    const z = o.compression ?? 'xz';
    try {
      await run('dpkg-deb', ['--root-owner-group', `-Z${z}`, '--build', root, tmp], {
        env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch), LC_ALL: 'C' },
        timeoutMs: 30 * 60_000,
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      if (e instanceof ExecError && e.reason === 'not-found') throw e;
      throw fail(
        `dpkg-deb could not build ${path.basename(out)}: ${e instanceof Error ? e.message : String(e)}`,
        'see the message from dpkg-deb above',
        e,
      );
    }
    fs.renameSync(tmp, out);
    return out;
  } finally {
    fs.rmSync(debian, { recursive: true, force: true });
  }
}
