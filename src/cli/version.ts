/** kiln's version, from package.json at build time (its own module, so commands need not import the entry point). */
export const KILN_VERSION = '0.1.0';
