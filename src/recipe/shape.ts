/**
 * Which top-level recipe keys a lazy recipe (`lazy.ts`) holds as data and which it parses on first read:
 * keys holding objects (`sources`, `build`, `install`, `packages`) are parsed on demand; scalars, lists of
 * strings, `depends` and `options` (planning reads them for every port) are data.
 *
 * Written out rather than read from the schema, so that code reading validated recipes (a no-op plan) never
 * loads the validator; `shape.test.ts` derives the same lists from `RecipeSchema` and fails when they differ.
 */

/** The recipe's top-level keys in output order (the schema's order). */
export const KEYS: readonly string[] = [
  'name',
  'version',
  'revision',
  'summary',
  'description',
  'homepage',
  'license',
  'arch',
  'sources',
  'patches',
  'depends',
  'options',
  'build',
  'install',
  'section',
  'packages',
];

/** The keys parsed on first read, in order: those holding objects. */
export const LAZY_KEYS: readonly string[] = ['sources', 'build', 'install', 'packages'];

/** Keys held as data from the start: every key but {@link LAZY_KEYS}. */
export const EAGER: ReadonlySet<string> = new Set(KEYS.filter((k) => !LAZY_KEYS.includes(k)));

/** The optional keys, in order; bit i of a key mask says whether OPTIONAL_KEYS[i] is present. */
export const OPTIONAL_KEYS: readonly string[] = ['name', 'description', 'homepage', 'license', 'section', 'packages'];
