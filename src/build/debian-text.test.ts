/** The pure text work of Debian source builds: changelog entry, build words, .changes, apt's complaint. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Recipe } from '../recipe/index.js';
import {
  aptComplaint,
  changelogDate,
  changelogTop,
  changesDdebs,
  changesDebs,
  debBuildWords,
  kilnChangelog,
  kilnChangelogEpoch,
  rulesNeedNoRoot,
} from './debian-text.js';

const ME = 'Jane Builder <jane@builds.example.org>';

const CHANGELOG = `hello (2.10-3) unstable; urgency=medium

  * Add some autopkgtests.

 -- Santiago Vila <sanvila@debian.org>  Mon, 26 Dec 2022 19:20:00 +0100

hello (2.10-2) unstable; urgency=low

  * Older.

 -- Santiago Vila <sanvila@debian.org>  Sat, 02 Jan 2021 12:00:00 +0100
`;

test("changelog: kiln's entry on top of the whole archive changelog, by the maintainer, dated after the archive's", () => {
  assert.equal(changelogDate(1700000000), 'Tue, 14 Nov 2023 22:13:20 +0000');
  const top = changelogTop(CHANGELOG);
  const prev = Date.parse('2022-12-26T18:20:00Z') / 1000;
  assert.deepEqual(top, {
    source: 'hello',
    version: '2.10-3',
    distribution: 'unstable',
    urgency: 'medium',
    epoch: prev,
  });
  const out = kilnChangelog(CHANGELOG, {
    version: '2.10-3+kiln2',
    identity: 'ab'.repeat(32),
    sourceDateEpoch: 1700000000,
    maintainer: ME,
  });
  assert.equal(
    out,
    `hello (2.10-3+kiln2) unstable; urgency=medium

  * Rebuilt by kiln (identity abababababababab).

 -- ${ME}  Tue, 14 Nov 2023 22:13:20 +0000

${CHANGELOG}`,
  );
  assert.equal(changelogTop(out)?.version, '2.10-3+kiln2');
  // A build epoch not after the archive's entry (the bulk's default of 1) gives a date after it, from the identity:
  // never the same date (lintian: latest-changelog-entry-without-new-date), the same for the same build.
  const old = kilnChangelog(CHANGELOG, {
    version: '2.10-3+kiln1',
    identity: 'c'.repeat(64),
    sourceDateEpoch: 1,
    maintainer: ME,
  });
  const when = changelogTop(old)!.epoch!;
  assert.ok(when > prev && when <= prev + 86_400, `${when} after ${prev}`);
  assert.equal(when, kilnChangelogEpoch(prev, 1, 'c'.repeat(64)));
  assert.notEqual(kilnChangelogEpoch(prev, 1, 'd'.repeat(64)), when);
  assert.equal(
    kilnChangelogEpoch(prev, prev, 'c'.repeat(64)),
    when,
    "an epoch equal to the archive entry's is not later",
  );
  assert.equal(kilnChangelogEpoch(prev, prev + 5, 'c'.repeat(64)), prev + 5);
  assert.throws(
    () => kilnChangelog('not a changelog\n', { version: '1', identity: 'x', sourceDateEpoch: 1, maintainer: ME }),
    /does not start with/,
  );
});

test('Rules-Requires-Root is read from the source paragraph', () => {
  const control =
    'Source: x\nRules-Requires-Root: no\n\nPackage: x\nArchitecture: any\n\nPackage: x-dev\nArchitecture: any\n';
  assert.equal(rulesNeedNoRoot(control), true);
  assert.equal(rulesNeedNoRoot('Source: x\n\nPackage: x\nRules-Requires-Root: no\n'), false);
});

test("DEB_BUILD_OPTIONS / DEB_BUILD_PROFILES: jobs, nocheck unless tests, the recipe's words, the options' on/off words", () => {
  const recipe = {
    build: { system: 'debian', parallel: true, deb_build_options: ['nodoc'], deb_build_profiles: ['nodoc'] },
    options: {
      DOCS: {
        default: true,
        description: 'd',
        deb_build_options: { on: [], off: ['nodoc'] },
        deb_build_profiles: { on: [], off: ['nodoc'] },
      },
      LTO: { default: false, description: 'l', deb_build_options: { on: ['optimize=+lto'], off: [] } },
    },
  } as unknown as Recipe;
  assert.deepEqual(debBuildWords({ recipe, options: { DOCS: false, LTO: true }, jobs: 3, withTests: false }), {
    options: ['parallel=3', 'nocheck', 'notrimdch', 'noddebs', 'nodoc', 'optimize=+lto'],
    profiles: ['nocheck', 'nodoc'],
  });
  assert.deepEqual(debBuildWords({ recipe, options: { DOCS: true, LTO: false }, jobs: 3, withTests: true }), {
    options: ['parallel=3', 'notrimdch', 'noddebs', 'nodoc'],
    profiles: ['nodoc'],
  });
  // debug_symbols: true keeps the -dbgsym packages.
  assert.deepEqual(
    debBuildWords({ recipe, options: { DOCS: true, LTO: false }, jobs: 3, withTests: true, debugSymbols: true })
      .options,
    ['parallel=3', 'notrimdch', 'nodoc'],
  );
  const serial = { build: { system: 'debian', parallel: false }, options: {} } as unknown as Recipe;
  assert.deepEqual(debBuildWords({ recipe: serial, options: {}, jobs: 8, withTests: false }).options, [
    'parallel=1',
    'nocheck',
    'notrimdch',
    'noddebs',
  ]);
  const own = {
    build: { system: 'debian', parallel: true, deb_build_options: ['parallel=1'] },
    options: {},
  } as unknown as Recipe;
  assert.deepEqual(debBuildWords({ recipe: own, options: {}, jobs: 8, withTests: false }).options, [
    'nocheck',
    'notrimdch',
    'noddebs',
    'parallel=1',
  ]);
});

test('.changes: the .deb and .udeb files of the Files field; the .ddeb ones apart', () => {
  const changes = `Format: 1.8
Source: jq
Binary: jq libjq1 libjq-dev
Checksums-Sha256:
 aa 1 jq_1.6_amd64.deb
Files:
 0f 43 utils optional jq_1.6-2.1+deb12u2+kiln1_amd64.deb
 1f 43 libs optional libjq1_1.6-2.1+deb12u2+kiln1_amd64.deb
 2f 43 debug optional libjq1-dbgsym_1.6_amd64.ddeb
 5f 43 debug optional jq-dbgsym_1.6_amd64.deb
 3f 43 debian-installer optional jq-udeb_1.6_amd64.udeb
 4f 43 misc optional jq_1.6_amd64.buildinfo
`;
  assert.deepEqual(changesDebs(changes), [
    'jq_1.6-2.1+deb12u2+kiln1_amd64.deb',
    'libjq1_1.6-2.1+deb12u2+kiln1_amd64.deb',
    'jq-udeb_1.6_amd64.udeb',
  ]);
  assert.deepEqual(changesDdebs(changes), ['libjq1-dbgsym_1.6_amd64.ddeb', 'jq-dbgsym_1.6_amd64.deb']);
});

test("apt's complaint: the unmet dependency and the E: lines", () => {
  const out = `Reading package lists...
Some packages could not be installed. This may mean that you have
The following information may help to resolve the situation:

The following packages have unmet dependencies:
 builddeps:/kiln/src/hello-2.10 : Depends: kiln-no-such-package but it is not installable
E: Unable to correct problems, you have held broken packages.
`;
  assert.equal(
    aptComplaint(out),
    'builddeps:/kiln/src/hello-2.10 : Depends: kiln-no-such-package but it is not installable; E: Unable to correct problems, you have held broken packages.',
  );
  assert.equal(aptComplaint('E: Unable to locate package foo\n'), 'E: Unable to locate package foo');
  assert.equal(aptComplaint('all fine\n'), '');
});

test('a run dependency on a Debian source package means its run-time binaries', async () => {
  const { kilnRunDeps } = await import('./deps.js');
  const deps = kilnRunDeps([
    {
      origin: 'libs/libonig',
      pkgname: 'libonig',
      version: '6.9.8-1+kiln1',
      deb: '/p/libonig5_6.9.8-1+kiln1_amd64.deb',
      debs: [
        '/p/libonig5_6.9.8-1+kiln1_amd64.deb',
        '/p/libonig-dev_6.9.8-1+kiln1_amd64.deb',
        '/p/libonig5-dbgsym_6.9.8-1+kiln1_amd64.deb',
      ],
    },
    { origin: 'misc/hello', pkgname: 'hello', version: '1.0-k1', deb: '/p/hello_1.0-k1_amd64.deb' },
  ]);
  assert.deepEqual(deps, [
    { name: 'libonig5', version: '6.9.8-1+kiln1' },
    { name: 'hello', version: '1.0-k1' },
  ]);
});
