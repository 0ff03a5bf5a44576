/**
 * The `port.yaml` schema (see `../shared/spec/port.md`). One zod schema drives validation, defaults and
 * the types every other module uses. Each field has a doc comment and a `.describe()` text.
 */
import { z } from 'zod';

import {
  ARCHES,
  BUILD_SYSTEMS,
  DEB_RELATION_RE,
  DEB_WORD_RE,
  DEBIAN_SECTIONS,
  OPTION_NAME_RE,
  ORIGIN_RE,
  PACKAGE_NAME_RE,
  versionProblem,
} from './names.js';

export * from './names.js';

const origin = z.string().regex(ORIGIN_RE, 'must be an origin CATEGORY/NAME');
const debRelation = z
  .string()
  .regex(
    DEB_RELATION_RE,
    'must be a Debian package name, optionally with a version relation such as "libfoo (>= 1.2)"',
  );
const args = z.array(z.string());
const debWords = z.array(
  z.string().regex(DEB_WORD_RE, 'must be a lower-case word such as nocheck, nodoc or parallel=4'),
);

/** One distfile. */
export const SourceSchema = z
  .object({
    /** Where to download it from. */
    url: z.string().url('must be a URL').describe('Where to download the distfile from'),
    /** Expected sha256, 64 lower-case hex digits. */
    sha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits')
      .describe('Expected sha256 of the file'),
    /** File name in the cache; defaults to the URL's last segment. */
    filename: z
      .string()
      .regex(/^[^/\0]+$/, 'must be a plain file name')
      .refine((s) => s !== '.' && s !== '..', 'must be a plain file name')
      .optional()
      .describe("File name in the distfile cache; defaults to the URL's last path segment"),
    /** Leading path components to strip when unpacking (default 1). */
    strip: z.number().int().min(0).max(16).default(1).describe('Leading path components stripped when unpacking'),
  })
  .strict();

/** Arguments added for an option's on or off state. */
const onOff = z
  .object({
    /** Added when the option is on. */
    on: args.default([]),
    /** Added when the option is off. */
    off: args.default([]),
  })
  .strict();

/** `DEB_BUILD_OPTIONS` / `DEB_BUILD_PROFILES` words added for an option's on or off state. */
const debOnOff = z
  .object({
    /** Added when the option is on. */
    on: debWords.default([]).describe('Words added when the option is on'),
    /** Added when the option is off. */
    off: debWords.default([]).describe('Words added when the option is off'),
  })
  .strict();

/** One per-port knob (poudriere's OPTIONS). */
export const OptionSchema = z
  .object({
    /** Value when the user chose nothing. */
    default: z.boolean().describe('Value when the user chose nothing'),
    /** One line shown by `kiln options`. */
    description: z.string().min(1).describe('One line shown by `kiln options`'),
    /** Arguments added to the configure step. */
    configure_args: onOff.optional().describe('Arguments added to the configure step when on / off'),
    /** Arguments added to make. */
    make_args: onOff.optional().describe('Arguments added to make when on / off'),
    /** Words added to `DEB_BUILD_OPTIONS` (`build.system: debian` only). */
    deb_build_options: debOnOff
      .optional()
      .describe('Words added to DEB_BUILD_OPTIONS when on / off (build.system: debian only)'),
    /** Words added to `DEB_BUILD_PROFILES` (`build.system: debian` only). */
    deb_build_profiles: debOnOff
      .optional()
      .describe('Words added to DEB_BUILD_PROFILES when on / off (build.system: debian only)'),
    /** Names of other options this one needs on (checked when choices are made). */
    implies: z
      .array(z.string().regex(OPTION_NAME_RE, 'must be an option name'))
      .optional()
      .describe('Options that must be on when this one is'),
  })
  .strict();

/** Dependencies. */
export const DependsSchema = z
  .object({
    /** Origins built first; their .debs are installed in the build sandbox. */
    build: z.array(origin).default([]).describe('Origins built first and installed in the build sandbox'),
    /** Origins that become `Depends:` of the .deb, with `(>= their version)`. */
    run: z.array(origin).default([]).describe('Origins that become Depends: of the .deb'),
    /** Debian packages from the jail's archive, installed in the build sandbox. */
    system: z
      .array(debRelation)
      .default([])
      .describe("Debian packages from the jail's archive installed for the build"),
    /** Debian packages added to `Depends:` as written. */
    system_run: z.array(debRelation).default([]).describe('Debian packages added to Depends: as written'),
  })
  .strict();

/** How to build. */
export const BuildSchema = z
  .object({
    /** autotools | cmake | meson | make | script (| debian, for Debian source packages). */
    system: z.enum(BUILD_SYSTEMS).describe('Build system: autotools, cmake, meson, make, script or debian'),
    /** Arguments appended to the configure step (not with system debian). */
    configure_args: args.default([]).describe('Arguments appended to the configure step'),
    /** Arguments appended to make / the build step (not with system debian). */
    make_args: args.default([]).describe('Arguments appended to make'),
    /** Words added to `DEB_BUILD_OPTIONS` for dpkg-buildpackage (`nocheck`, `nodoc`); system debian only. */
    deb_build_options: debWords.default([]).describe('Words added to DEB_BUILD_OPTIONS (build.system: debian only)'),
    /** Words added to `DEB_BUILD_PROFILES` for dpkg-buildpackage (`nodoc`, `stage1`); system debian only. */
    deb_build_profiles: debWords.default([]).describe('Words added to DEB_BUILD_PROFILES (build.system: debian only)'),
    /** Shell run in the unpacked source with `set -e`; required when system is script, not allowed with debian. */
    script: z.string().min(1).optional().describe('Shell script replacing the build system commands'),
    /** Extra environment for the build. */
    env: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string())
      .default({})
      .describe('Extra environment variables for the build'),
    /** Command run when the bulk asks for tests (`-t`). */
    test: z.string().min(1).optional().describe('Test command run with `kiln bulk -t`'),
    /** False when the build breaks with make -jN: it then always gets -j1. */
    parallel: z.boolean().default(true).describe('False if the port breaks with parallel make'),
    /** Per-port limits overriding kiln.yaml's. */
    limits: z
      .object({
        /** Wall-clock seconds. */
        wall_s: z.number().int().positive().optional(),
        /** CPU seconds. */
        cpu_s: z.number().int().positive().optional(),
        /** Seconds without output before the build is killed (poudriere's NOHANG). */
        no_output_s: z.number().int().positive().optional(),
        /** Memory in MiB. */
        memory_mb: z.number().int().positive().optional(),
      })
      .strict()
      .default({})
      .describe('Limits for this port, overriding kiln.yaml'),
  })
  .strict();

/** Packaging details. */
export const InstallSchema = z
  .object({
    /** Absolute paths of configuration files dpkg must preserve. */
    conffiles: z
      .array(z.string().regex(/^\/[^\0]*$/, 'must be an absolute path'))
      .default([])
      .describe('Configuration files dpkg preserves'),
    /** Maintainer script run before unpacking. */
    preinst: z.string().optional().describe('preinst maintainer script'),
    /** Maintainer script run after unpacking. */
    postinst: z.string().optional().describe('postinst maintainer script'),
    /** Maintainer script run before removal. */
    prerm: z.string().optional().describe('prerm maintainer script'),
    /** Maintainer script run after removal. */
    postrm: z.string().optional().describe('postrm maintainer script'),
  })
  .strict();

/** A whole `port.yaml`. */
export const RecipeSchema = z
  .object({
    /** The .deb's Package: name; defaults to the origin's NAME. */
    name: z
      .string()
      .regex(PACKAGE_NAME_RE, 'must be a Debian package name: lower case [a-z0-9][a-z0-9+.-]+')
      .optional()
      .describe("The .deb's Package: name; defaults to NAME of the origin"),
    /**
     * Upstream version, always a string. Required, except with `build.system: debian`, where it may be absent
     * (then `''`: the archive's version is used). The requirement is checked in `checks.ts` (it depends on `build`).
     */
    version: z
      .string()
      .superRefine((v, ctx) => {
        const m = versionProblem(v);
        if (m !== undefined) ctx.addIssue({ code: 'custom', message: m });
      })
      .default('')
      .describe("Upstream version (a string); may be absent with build.system: debian (then the archive's)"),
    /** Packaging revision; the .deb version is VERSION-kREVISION (with system debian: ARCHIVEVERSION+kilnREVISION). */
    revision: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('Packaging revision, the k in VERSION-kREVISION (+kilnREVISION for debian)'),
    /** One-line summary. Required, except with `build.system: debian` (then `''`: the archive's is used). */
    summary: z
      .string()
      .min(1)
      .regex(/^[^\n]*$/, 'must be one line')
      .default('')
      .describe("One-line summary; may be absent with build.system: debian (then the archive's)"),
    /** Long description. */
    description: z.string().optional().describe('Long description'),
    /** Upstream home page. */
    homepage: z.string().url('must be a URL').optional().describe('Upstream home page'),
    /** SPDX license expression. */
    license: z.string().min(1).optional().describe('SPDX license expression'),
    /** any | all | a list of architectures. */
    arch: z
      .union([z.literal('any'), z.literal('all'), z.array(z.enum(ARCHES)).min(1)])
      .default('any')
      .describe('any, all, or a list of architectures'),
    /** Distfiles. */
    sources: z.array(SourceSchema).default([]).describe('Distfiles, checked by sha256'),
    /** Patch files in the port folder, applied with patch -p1 in order. */
    patches: z
      .array(
        z
          .string()
          .regex(/^[^/\0][^\0]*$/, 'must be a path relative to the port folder')
          .refine((s) => !s.split('/').includes('..'), 'must stay inside the port folder'),
      )
      .default([])
      .describe('Patches in the port folder, applied with patch -p1 in order'),
    /** Dependencies. */
    depends: DependsSchema.default({ build: [], run: [], system: [], system_run: [] }).describe('Dependencies'),
    /** Per-port knobs. */
    options: z
      .record(z.string().regex(OPTION_NAME_RE, 'must be an upper-case option name such as NLS'), OptionSchema)
      .default({})
      .describe('Per-port options'),
    /** How to build. */
    build: BuildSchema.describe('How to build'),
    /** Packaging details. */
    install: InstallSchema.default({ conffiles: [] }).describe('Conffiles and maintainer scripts'),
    /** Debian archive section of the port's package; default: mapped from the category (`textproc` → `text`). */
    section: z
      .enum(DEBIAN_SECTIONS)
      .optional()
      .describe("Debian section of the package; default: mapped from the origin's category"),
    /**
     * Binary packages made from the one staged tree: package name → file globs (`*`, `?`, `**`, `{a,b}`, relative to
     * the root). Each file goes to the first package whose globs match, the rest to the port's own package. Absent: a
     * library is split Debian's way (runtime package named after the SONAME, `-dev`).
     */
    packages: z
      .record(
        z.string().regex(PACKAGE_NAME_RE, 'must be a Debian package name: lower case [a-z0-9][a-z0-9+.-]+'),
        z
          .array(
            z
              .string()
              .min(1)
              .regex(/^[^\0\n]*$/, 'must be a file glob')
              .refine((s) => !s.split('/').includes('..'), 'must stay inside the package'),
          )
          .min(1, 'must list at least one file glob'),
      )
      .optional()
      .describe('Binary packages from this port: name → file globs (default: the library split)'),
  })
  .strict();

/** A validated recipe, defaults filled in. */
export type Recipe = Readonly<z.output<typeof RecipeSchema>>;
/** One distfile of a recipe. */
export type Source = z.output<typeof SourceSchema>;
/** One option of a recipe. */
export type RecipeOption = z.output<typeof OptionSchema>;
