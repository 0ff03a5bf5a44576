/**
 * Package list files (`pkglist.txt`, poudriere's `-f`): one origin per line, `#` starts a comment,
 * blank lines are ignored. Pure: text in, origins and located problems out.
 */
import type { Problem } from '../util/errors.js';
import { ORIGIN_RE } from './names.js';

/** What {@link parseList} returns. */
export interface ListParse {
  /** The origins, in file order, each once. */
  readonly origins: string[];
  /** Bad lines and repeats, located (`field` is `origin`). */
  readonly problems: Problem[];
}

/** Parses a list file's text; `path` names it in problems. */
export function parseList(text: string, path: string): ListParse {
  const origins: string[] = [];
  const problems: Problem[] = [];
  const firstLine = new Map<string, number>();
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const hash = raw.indexOf('#');
    const body = (hash < 0 ? raw : raw.slice(0, hash)).replace(/\r$/, '');
    const word = body.trim();
    if (word === '') return;
    const column = body.length - body.trimStart().length + 1;
    const at = (message: string) => problems.push({ path, line, column, field: 'origin', message });
    if (/\s/.test(word)) {
      at(`one origin per line; found ${JSON.stringify(word)}`);
      return;
    }
    if (!ORIGIN_RE.test(word)) {
      at(`${JSON.stringify(word)} is not an origin CATEGORY/NAME (such as devel/oniguruma)`);
      return;
    }
    const seen = firstLine.get(word);
    if (seen !== undefined) {
      at(`${word} is listed twice (first on line ${seen})`);
      return;
    }
    firstLine.set(word, line);
    origins.push(word);
  });
  return { origins, problems };
}
