/** Debian's archive: where it is (from the host's apt sources), and later its indexes. */
export { hostMirror, hostAptSources, parseDeb822Sources, parseOneLineSources, type AptSource } from './mirror.js';
