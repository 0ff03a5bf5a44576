/**
 * Recipe checks beyond the zod shape: references between fields (options named in `implies` or as
 * `$KILN_OPT_X` in scripts must be declared), duplicates, a port depending on itself, a `script` build
 * without a script, a NAME that cannot be a package name. They work on the raw parsed YAML (any shape,
 * checked defensively), so they run together with the schema and all problems are reported at once.
 */
import { formatField } from '../util/yamlpos.js';
import { PACKAGE_NAME_RE } from './schema.js';
import { hostileFindings } from './hostile.js';

/** One finding: the field it is about, how to point at it, and the message. */
export interface Finding {
  /** Field path (`['depends', 'build', 2]`). */
  readonly path: (string | number)[];
  /** Point at the value (default), the key, or the enclosing mapping (a missing key). */
  readonly mode: 'value' | 'key' | 'parent';
  /** What is wrong. */
  readonly message: string;
  /** Text to point at inside the value (a `$KILN_OPT_X` in a script). */
  readonly needle?: string;
}

type Obj = Record<string, unknown>;
const NO_NAMES: ReadonlySet<string> = new Set();
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const OPT_REF = /\$\{?KILN_OPT_([A-Za-z0-9_]*)/g;

/** Reports `$KILN_OPT_X` / `${KILN_OPT_X}` in `text` whose option X is not declared. */
function optionRefs(text: unknown, path: (string | number)[], declared: ReadonlySet<string>, out: Finding[]): void {
  if (typeof text !== 'string' || !text.includes('KILN_OPT_')) return;
  const seen = new Set<string>();
  for (const m of text.matchAll(OPT_REF)) {
    const name = m[1]!;
    if (declared.has(name) || seen.has(name)) continue;
    seen.add(name);
    out.push({
      path,
      mode: 'value',
      needle: m[0],
      message:
        name === ''
          ? `${m[0]} names no option; write $KILN_OPT_NAME with NAME declared under options`
          : `$KILN_OPT_${name} refers to option ${name}, which is not declared under options`,
    });
  }
}

/** Reports repeated entries of a list (each repeat at its own index). */
function duplicates(
  list: unknown,
  path: (string | number)[],
  key: (v: unknown) => string | undefined,
  what: string,
  out: Finding[],
): void {
  if (!Array.isArray(list) || list.length < 2) return;
  // Short lists (almost all): compare pairwise, no Map. Any repeat: the general path below reports it.
  if (list.length <= 32) {
    let repeat = false;
    for (let i = 1; i < list.length && !repeat; i++) {
      const k = key(list[i]);
      if (k === undefined) continue;
      for (let j = 0; j < i; j++)
        if (key(list[j]) === k) {
          repeat = true;
          break;
        }
    }
    if (!repeat) return;
  }
  const first = new Map<string, number>();
  list.forEach((v, i) => {
    const k = key(v);
    if (k === undefined) return;
    const at = first.get(k);
    if (at === undefined) first.set(k, i);
    else
      out.push({
        path: [...path, i],
        mode: 'value',
        message: `duplicate ${what} ${JSON.stringify(k)} (also at ${formatField([...path, at])})`,
      });
  });
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The file name a source is saved under (its `filename`, else the URL's last path segment). */
function sourceFileName(src: Obj): string | undefined {
  if (typeof src.filename === 'string') return src.filename;
  if (typeof src.url !== 'string') return undefined;
  // The URL's last path segment, without query or fragment (no URL object: this runs for every recipe).
  const url = src.url;
  const scheme = url.indexOf('://');
  if (scheme < 0) return undefined;
  const pathStart = url.indexOf('/', scheme + 3);
  if (pathStart < 0) return '';
  let end = url.length;
  for (const c of ['?', '#']) {
    const i = url.indexOf(c, pathStart);
    if (i >= 0 && i < end) end = i;
  }
  const last = url.slice(url.lastIndexOf('/', end - 1) + 1, end);
  if (!last.includes('%')) return last;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** Keys that `build.system: debian` does not take (the archive's source and debian/rules replace them). */
const NOT_FOR_DEBIAN: readonly { key: 'script' | 'configure_args' | 'make_args'; message: string }[] = [
  {
    key: 'configure_args',
    message:
      'not used by build.system: debian (debian/rules runs the build); use deb_build_options or deb_build_profiles',
  },
  {
    key: 'make_args',
    message:
      'not used by build.system: debian (debian/rules runs the build); use deb_build_options or deb_build_profiles',
  },
  {
    key: 'script',
    message:
      'not allowed with build.system: debian (dpkg-buildpackage runs debian/rules); change the source with patches',
  },
];
const DEB_KEYS = ['deb_build_options', 'deb_build_profiles'] as const;
const isEmptyList = (v: unknown): boolean => Array.isArray(v) && v.length === 0;

/**
 * The rules that depend on `build.system: debian`: version and summary may be absent only there; sources,
 * script and configure/make arguments are not allowed there; `deb_build_*` words are allowed only there.
 */
function debianChecks(data: Obj, build: Obj | undefined, names: readonly string[], options: Obj, out: Finding[]): void {
  const debian = build !== undefined && build.system === 'debian';
  if (!debian) {
    // The messages zod gave when these keys were plainly required (the schema defaults them to '').
    if (data.version === undefined)
      out.push({ path: ['version'], mode: 'parent', message: 'is missing: it is required (a string)' });
    if (data.summary === undefined)
      out.push({ path: ['summary'], mode: 'parent', message: 'is missing: it is required (a string)' });
    if (build === undefined || typeof build.system !== 'string') return; // an unknown system: no cross-check
    for (const key of DEB_KEYS) {
      if (build[key] !== undefined)
        out.push({
          path: ['build', key],
          mode: 'key',
          message: `only for build.system: debian (this port's system is ${build.system})`,
        });
    }
    for (const name of names) {
      const opt = options[name];
      if (!isObj(opt)) continue;
      for (const key of DEB_KEYS) {
        if (opt[key] !== undefined)
          out.push({
            path: ['options', name, key],
            mode: 'key',
            message: `only for build.system: debian (this port's system is ${build.system})`,
          });
      }
    }
    return;
  }
  if (data.sources !== undefined && !isEmptyList(data.sources)) {
    out.push({
      path: ['sources'],
      mode: 'key',
      message: 'the Debian archive provides the source of a build.system: debian port; remove sources',
    });
  }
  for (const { key, message } of NOT_FOR_DEBIAN) {
    const v = build[key];
    if (v !== undefined && !isEmptyList(v)) out.push({ path: ['build', key], mode: 'key', message });
  }
  for (const name of names) {
    const opt = options[name];
    if (!isObj(opt)) continue;
    for (const key of ['configure_args', 'make_args'] as const) {
      if (opt[key] !== undefined)
        out.push({
          path: ['options', name, key],
          mode: 'key',
          message:
            'not used by build.system: debian (debian/rules runs the build); give the option deb_build_options or deb_build_profiles',
        });
    }
  }
  for (const key of DEB_KEYS) duplicates(build[key], ['build', key], str, 'word', out);
}

/**
 * Runs every cross-field check on raw recipe data for the port at `origin`; `text` (what it was parsed from, when
 * known) lets the hostile checks skip walking values that cannot be hostile.
 */
export function checkRecipe(data: unknown, origin: string, text?: string): Finding[] {
  const out: Finding[] = [];
  if (!isObj(data)) return out;

  // name: when absent, NAME of the origin must be a valid package name.
  if (data.name === undefined) {
    const name = origin.slice(origin.indexOf('/') + 1);
    if (!PACKAGE_NAME_RE.test(name)) {
      out.push({
        path: ['name'],
        mode: 'parent',
        message: `not given, and the port's NAME ${JSON.stringify(name)} is not a Debian package name (lower case [a-z0-9][a-z0-9+.-]+); add a name: line`,
      });
    }
  }

  // Options: declared names, and every reference to one.
  const options = isObj(data.options) ? data.options : {};
  const names = Object.keys(options);
  const declared: ReadonlySet<string> = names.length === 0 ? NO_NAMES : new Set(names);
  for (const name of names) {
    const opt = options[name];
    if (!isObj(opt) || !Array.isArray(opt.implies)) continue;
    opt.implies.forEach((ref, i) => {
      if (typeof ref !== 'string') return;
      if (ref === name)
        out.push({
          path: ['options', name, 'implies', i],
          mode: 'value',
          message: `option ${name} cannot imply itself`,
        });
      else if (!declared.has(ref))
        out.push({
          path: ['options', name, 'implies', i],
          mode: 'value',
          message: `option ${ref} is not declared under options`,
        });
    });
    duplicates(opt.implies, ['options', name, 'implies'], str, 'option', out);
  }
  const build = isObj(data.build) ? data.build : undefined;
  debianChecks(data, build, names, options, out);
  if (build) {
    optionRefs(build.script, ['build', 'script'], declared, out);
    optionRefs(build.test, ['build', 'test'], declared, out);
    if (isObj(build.env)) for (const k in build.env) optionRefs(build.env[k], ['build', 'env', k], declared, out);
    if (build.system === 'script' && build.script === undefined) {
      out.push({
        path: ['build', 'system'],
        mode: 'value',
        message: 'system "script" needs build.script: the shell commands to run in the unpacked source',
      });
    }
  }

  // Dependencies: no repeats, and never the port itself.
  if (isObj(data.depends)) {
    for (const list of ['build', 'run', 'system', 'system_run'] as const) {
      const deps = data.depends[list];
      duplicates(deps, ['depends', list], str, 'dependency', out);
      if ((list === 'build' || list === 'run') && Array.isArray(deps)) {
        deps.forEach((d, i) => {
          if (d === origin)
            out.push({ path: ['depends', list, i], mode: 'value', message: `the port ${origin} depends on itself` });
        });
      }
    }
  }

  duplicates(data.patches, ['patches'], str, 'patch', out);
  if (Array.isArray(data.arch)) duplicates(data.arch, ['arch'], str, 'architecture', out);
  if (isObj(data.install)) duplicates(data.install.conffiles, ['install', 'conffiles'], str, 'conffile', out);

  // Sources: each needs a file name, and two must not share one.
  if (Array.isArray(data.sources) && data.sources.length > 0) sourceNames(data.sources, out);
  // Prototype keys, control characters, absurd sizes (hostile.ts).
  for (const f of hostileFindings(data, text)) out.push(f);
  return out;
}

/** Each source needs a file name, and two must not share one. */
function sourceNames(sources: unknown[], out: Finding[]): void {
  if (sources.length === 1) {
    // The common case: one distfile, no Map.
    const src = sources[0];
    if (!isObj(src)) return;
    const file = sourceFileName(src);
    if (file === '' || file === '.' || file === '..')
      out.push({
        path: ['sources', 0, 'url'],
        mode: 'value',
        message: 'the URL ends without a file name; add filename:',
      });
    return;
  }
  {
    const seen = new Map<string, number>();
    sources.forEach((src, i) => {
      if (!isObj(src)) return;
      const file = sourceFileName(src);
      const field = typeof src.filename === 'string' ? 'filename' : 'url';
      if (file === undefined) return;
      if (file === '' || file === '.' || file === '..') {
        out.push({
          path: ['sources', i, 'url'],
          mode: 'value',
          message: 'the URL ends without a file name; add filename:',
        });
        return;
      }
      const at = seen.get(file);
      if (at !== undefined)
        out.push({
          path: ['sources', i, field],
          mode: 'value',
          message: `saved as ${JSON.stringify(file)} like sources[${at}]; give one a different filename:`,
        });
      else seen.set(file, i);
    });
  }
}
