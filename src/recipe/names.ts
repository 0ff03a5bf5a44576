/**
 * The names and shapes of `port.yaml` that need no validator: the patterns and word lists the schema
 * (`schema.ts`) checks against, for code that only reads validated recipes (a no-op plan never loads zod).
 */

/** Debian package name rules: lowercase, starts with a letter or digit, then `[a-z0-9+.-]`, 2+ chars. */
export const PACKAGE_NAME_RE = /^[a-z0-9][a-z0-9+.-]+$/;
/** Upstream version (Debian syntax, no epoch, no revision dash): starts with a digit. */
export const VERSION_RE = /^[0-9][A-Za-z0-9.+~]*$/;
/** An origin: `CATEGORY/NAME`. */
export const ORIGIN_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*\/[A-Za-z0-9][A-Za-z0-9._+-]*$/;
/** Option names: upper-case identifiers, as poudriere's. */
export const OPTION_NAME_RE = /^[A-Z][A-Z0-9_]*$/;
/** Debian architectures kiln knows. */
export const ARCHES = ['amd64', 'arm64', 'armhf', 'i386', 'ppc64el', 's390x', 'riscv64'] as const;
/** Build systems of `build.system`. */
export const BUILD_SYSTEMS = ['autotools', 'cmake', 'meson', 'make', 'script', 'debian'] as const;
/** A word of `DEB_BUILD_OPTIONS` / `DEB_BUILD_PROFILES` (`nocheck`, `nodoc`, `parallel=4`, `pkg.foo.bar`). */
export const DEB_WORD_RE = /^[a-z0-9][a-z0-9=+._-]*$/;
/** Debian's archive sections (lintian's list), the values of `section:`. */
export const DEBIAN_SECTIONS = [
  'admin',
  'cli-mono',
  'comm',
  'database',
  'debian-installer',
  'debug',
  'devel',
  'doc',
  'editors',
  'education',
  'electronics',
  'embedded',
  'fonts',
  'games',
  'gnome',
  'gnu-r',
  'gnustep',
  'golang',
  'graphics',
  'hamradio',
  'haskell',
  'httpd',
  'interpreters',
  'introspection',
  'java',
  'javascript',
  'kde',
  'kernel',
  'libdevel',
  'libs',
  'lisp',
  'localization',
  'mail',
  'math',
  'metapackages',
  'misc',
  'net',
  'news',
  'ocaml',
  'oldlibs',
  'otherosfs',
  'perl',
  'php',
  'python',
  'raku',
  'ruby',
  'rust',
  'science',
  'shells',
  'sound',
  'tasks',
  'tex',
  'text',
  'utils',
  'vcs',
  'video',
  'web',
  'x11',
  'xfce',
  'zope',
] as const;
/** Maintainer scripts allowed under `install`. */
export const MAINTAINER_SCRIPTS = ['preinst', 'postinst', 'prerm', 'postrm'] as const;

/** Why `v` is not an upstream version (one message per case), or undefined when it is one. */
export function versionProblem(v: string): string | undefined {
  if (VERSION_RE.test(v)) return undefined;
  if (/^[0-9]+:/.test(v)) return 'must not carry an epoch ("N:"); kiln sets the .deb version itself';
  if (v.includes('-')) return 'must not contain a dash: the packaging revision is the separate "revision" field';
  if (v === '') return 'must not be empty';
  if (!/^[0-9]/.test(v)) return `must start with a digit, e.g. "2.10" (not ${JSON.stringify(v)})`;
  return 'may only hold letters, digits and . + ~ (Debian upstream version syntax)';
}

/** A Debian package relation as recipes write one: a name, optionally `:arch`, a version relation, alternatives. */
export const DEB_RELATION_RE =
  /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?( *\([<>=]{1,2} *[^()\s]+\))?( *\| *[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?( *\([<>=]{1,2} *[^()\s]+\))?)*$/;
