/**
 * The `kiln.yaml` schema: kiln's settings under `--home` (poudriere.conf's place). One zod schema drives
 * validation, defaults, `kiln config` output and the docs: every setting has a default and a description.
 */
import os from 'node:os';
import net from 'node:net';
import { z } from 'zod';

/** `host:port` for a listening socket. */
const LISTEN_RE = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;
/** A host name, an IP address or a CIDR network (`fetch.allow_hosts`). */
function isAllowEntry(s: string): boolean {
  const [addr = '', len, extra] = s.replace(/^\[(.*)\]$/, '$1').split('/');
  const fam = net.isIP(addr);
  if (extra !== undefined) return false;
  if (fam !== 0) return len === undefined || (/^\d{1,3}$/.test(len) && Number(len) <= (fam === 6 ? 128 : 32));
  return len === undefined && /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$/.test(addr);
}
const httpUrl = z
  .string()
  .url('must be a URL')
  .regex(/^(https?|file):\/\//, 'must be an http://, https:// or file:// URL');

/** Resource limits of one build (a recipe's `build.limits` overrides them per port). */
export const LimitsSchema = z
  .object({
    /** Wall-clock seconds a build may take (poudriere's MAX_EXECUTION_TIME). */
    wall_s: z.number().int().positive().default(86400).describe('Wall-clock seconds one build may take'),
    /** CPU seconds a build may use, all its processes together. */
    cpu_s: z
      .number()
      .int()
      .positive()
      .default(172800)
      .describe('CPU seconds one build may use, all processes together'),
    /** Seconds without any output before a build is killed (poudriere's NOHANG_TIME). */
    no_output_s: z
      .number()
      .int()
      .positive()
      .default(7200)
      .describe('Seconds without output before a build is killed as hung'),
    /** Memory a build may use, MiB. */
    memory_mb: z.number().int().positive().default(8192).describe('Memory one build may use, in MiB'),
    /** Disk one build may write, MiB: its sandbox's writable layer is a file system of this size (unset: no limit). */
    disk_mb: z
      .number()
      .int()
      .min(16)
      .max(16 * 1024 * 1024)
      .optional()
      .describe('Disk one build may write, in MiB (its own file system; unset: no limit)'),
    /** Files (inodes) one build may make, with `disk_mb` (poudriere's MAX_FILES). */
    files: z
      .number()
      .int()
      .min(1024)
      .max(2 ** 31)
      .optional()
      .describe('Files one build may make (with disk_mb; poudriere MAX_FILES)'),
  })
  .strict();

/** Commands and URLs told about each finished bulk. */
export const HooksSchema = z
  .object({
    /** After each bulk. */
    post_bulk: z
      .object({
        /** Shell commands run after each bulk. */
        commands: z.array(z.string().min(1)).default([]).describe('Shell commands run after each bulk'),
        /** URLs that get the bulk's JSON report by POST after each bulk. */
        urls: z.array(httpUrl).default([]).describe("URLs that receive the bulk's JSON report by POST"),
      })
      .strict()
      .default({ commands: [], urls: [] })
      .describe('Hooks run after each bulk'),
  })
  .strict();

/** The whole `kiln.yaml`. */
export const ConfigSchema = z
  .object({
    /** Ports built at the same time (poudriere's PARALLEL_JOBS); `-J` overrides it. */
    builders: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(() => os.availableParallelism())
      .describe('Ports built at the same time (-J overrides); default: the number of CPU cores'),
    /** Limits of each build. */
    limits: LimitsSchema.default({ wall_s: 86400, cpu_s: 172800, no_output_s: 7200, memory_mb: 8192 }).describe(
      'Resource limits of each build',
    ),
    /** Distfile mirrors (pbulk's MASTER_SITE_OVERRIDE), as base URLs: tried after the cache and the recipe's own URL, before Debian's archive. */
    mirrors: z
      .array(httpUrl)
      .default([])
      .describe("Distfile mirror base URLs, tried in order after the recipe's own URL and before Debian's archive"),
    /** Where distfile downloads may go: recipes are untrusted, so loopback, private and link-local addresses are refused unless listed. */
    fetch: z
      .object({
        /** Host names, addresses or networks (CIDR) a download may reach although they are loopback, private or link-local. */
        allow_hosts: z
          .array(z.string().refine(isAllowEntry, 'must be a host name, an IP address or a network such as 10.1.0.0/16'))
          .default([])
          .describe(
            'Host names, addresses or CIDR networks that distfile downloads may reach although loopback, private or link-local',
          ),
      })
      .strict()
      .default({ allow_hosts: [] })
      .describe('Where distfile downloads may go'),
    /** The repository signing key. */
    signing: z
      .object({
        /** Folder of the archive signing key (made 0700); unset: HOME/keys. Outside the home keeps it off any backup or share of the home. */
        key_dir: z
          .string()
          .regex(/^\/[^\0]*$/, 'must be an absolute path')
          .optional()
          .describe('Folder of the repository signing key (made 0700); unset: HOME/keys'),
      })
      .strict()
      .default({})
      .describe('The repository signing key'),
    /** Debian archive for jails; unset means the one in the host's apt sources. */
    debian_mirror: httpUrl.optional().describe("Debian archive URL for jails; unset: the host's apt sources"),
    /**
     * Who signs kiln's `debian/changelog` entries (`Name <email>`); unset: see `maintainerOf` (the host's mail name or
     * fully qualified host name, else `kiln <kiln@kiln.invalid>`).
     */
    maintainer: z
      .string()
      .regex(/^[^<>\n]+ <[^<>@\s]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+>$/, 'must be "Name <user@host.domain>"')
      .optional()
      .describe(
        "Name <email> of the changelog entries kiln writes; unset: kiln <kiln@HOST> (the host's mail name or FQDN, else kiln.invalid)",
      ),
    /** Keep Debian's `-dbgsym` packages of Debian rebuilds (published in a separate debug suite); default off (`noddebs`). */
    debug_symbols: z
      .boolean()
      .default(false)
      .describe('Debian rebuilds keep their -dbgsym packages (a separate debug suite); false: noddebs'),
    /** Package generations kept per repository (older ones are deleted). */
    keep_generations: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(5)
      .describe('Repository generations kept; older ones are deleted'),
    /** The published repositories. */
    repo: z
      .object({
        /** Days a repository's Release stays valid (its Valid-Until); 0 leaves Valid-Until out. */
        valid_days: z
          .number()
          .int()
          .min(0)
          .max(3650)
          .default(0)
          .describe(
            "Days a published Release stays valid (apt's Valid-Until, counted from the publish); 0: no Valid-Until, the Release never expires",
          ),
      })
      .strict()
      .default({ valid_days: 0 })
      .describe('The published repositories'),
    /** Per-port compiler caches: each port's C/C++ builds go through ccache with a cache of its own (jail, tree, origin). */
    ccache: z
      .boolean()
      .default(false)
      .describe('Compile through ccache, with a cache per port (jail, tree, origin); kiln clean ccache removes them'),
    /** Size cap of each port's ccache (ccache's syntax: a number with K, M, G or T). */
    ccache_size: z
      .string()
      .regex(/^[0-9]{1,6}(\.[0-9]{1,3})?[KMGT]i?$/, 'must be a size such as 500M or 2G')
      .default('2G')
      .describe("Size cap of each port's ccache, such as 500M or 2G"),
    /** Caches kiln keeps between builds. */
    cache: z
      .object({
        /** Dependency layers: installed build dependencies reused as read-only overlay layers, all together capped. */
        layers_mb: z
          .number()
          .int()
          .min(0)
          .max(16 * 1024 * 1024)
          .default(8192)
          .describe(
            'MiB all dependency layers may take together (least recently used evicted first); 0 turns layers off and every build installs its own dependencies',
          ),
      })
      .strict()
      .default({ layers_mb: 8192 })
      .describe('Caches kept between builds'),
    /** Redis URL for distributed builds (unset: builds are local only). */
    redis: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
      .optional()
      .describe('Redis URL that remote workers share (unset: local builds only)'),
    /** `kiln serve`. */
    serve: z
      .object({
        /** Address `kiln serve` listens on. */
        listen: z
          .string()
          .refine(
            (s) => LISTEN_RE.test(s) && Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535,
            'must be HOST:PORT with a port up to 65535, such as 127.0.0.1:8080',
          )
          .default('127.0.0.1:8080')
          .describe('Address kiln serve listens on (--listen overrides)'),
      })
      .strict()
      .default({ listen: '127.0.0.1:8080' })
      .describe('The web page and repositories server'),
    /** Hooks. */
    hooks: HooksSchema.default({ post_bulk: { commands: [], urls: [] } }).describe(
      'Commands and URLs told about each bulk',
    ),
    /** How make -jN is given to builds: adaptive shares the cores among the builds competing for them; fixed gives each -j1. */
    job_budget: z
      .enum(['adaptive', 'fixed'])
      .default('adaptive')
      .describe(
        'make -jN per build: adaptive shares the cores among the builds competing for them (a lone build gets all); fixed gives each -j1',
      ),
  })
  .strict();

/** kiln's validated settings, defaults filled in. */
export type Config = z.output<typeof ConfigSchema>;
