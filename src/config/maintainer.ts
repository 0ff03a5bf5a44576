/** The Maintainer kiln writes into the packages it makes. */
import type { Config } from './schema.js';

/** The Maintainer when kiln.yaml names none (lintian calls its mail host bogus: set `maintainer`). */
export const DEFAULT_MAINTAINER = 'kiln <kiln@localhost>';

/** kiln.yaml's `maintainer`, else {@link DEFAULT_MAINTAINER}. */
export function maintainerOf(config: Pick<Config, 'maintainer'>): string {
  return config.maintainer ?? DEFAULT_MAINTAINER;
}
