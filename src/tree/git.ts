/** Git clones of `--git` trees, through `run` (the only process spawner). No prompts: a missing credential fails. */
import { run, ExecError } from '../util/exec.js';
import { KilnError } from '../util/errors.js';

const GIT_ENV = (): NodeJS.ProcessEnv => ({
  ...process.env,
  GIT_TERMINAL_PROMPT: '0',
  GIT_ASKPASS: 'true',
  LC_ALL: 'C',
});
const TIMEOUT_MS = 30 * 60 * 1000;

async function git(args: string[], cwd?: string): Promise<string> {
  const res = await run('git', args, { cwd, env: GIT_ENV(), timeoutMs: TIMEOUT_MS });
  return res.stdout.trim();
}

/** Wraps a failed git command as KILN_E_TREE_INVALID with git's own words and a hint. */
function gitError(what: string, e: unknown, hint: string): unknown {
  if (!(e instanceof ExecError) || e.reason === 'not-found') return e;
  const said = e.stderr.trim().split('\n').slice(-3).join(' / ');
  return new KilnError('KILN_E_TREE_INVALID', `${what} failed${said ? `: ${said}` : ''}`, { hint, cause: e });
}

/** Clones `url` (branch `branch`, or the remote's default) into `dir`; returns the branch and commit checked out. */
export async function gitClone(
  url: string,
  branch: string | undefined,
  dir: string,
): Promise<{ branch: string; commit: string }> {
  try {
    await git(['clone', '--quiet', ...(branch ? ['--branch', branch] : []), '--', url, dir]);
  } catch (e) {
    throw gitError(
      `git clone ${url}${branch ? ` (branch ${branch})` : ''}`,
      e,
      'check the URL and --branch, and that git can reach it without a password prompt',
    );
  }
  try {
    const b = branch ?? (await git(['symbolic-ref', '--short', 'HEAD'], dir));
    return { branch: b, commit: await git(['rev-parse', 'HEAD'], dir) };
  } catch (e) {
    throw gitError(
      `reading the checkout of ${url}`,
      e,
      'the repository has no commits on that branch; push some or pick --branch',
    );
  }
}

/** Fetches `branch` from origin and resets the clone in `dir` to it (local changes in kiln's clone are discarded). */
export async function gitUpdate(url: string, branch: string, dir: string): Promise<{ commit: string }> {
  try {
    await git(['fetch', '--quiet', '--', url, `+refs/heads/${branch}:refs/remotes/origin/${branch}`], dir);
    await git(['reset', '--quiet', '--hard', `refs/remotes/origin/${branch}`], dir);
    await git(['clean', '-qfdx'], dir);
    return { commit: await git(['rev-parse', 'HEAD'], dir) };
  } catch (e) {
    throw gitError(
      `updating ${dir} from ${url} (branch ${branch})`,
      e,
      'check that the repository and its branch still exist and are reachable',
    );
  }
}
