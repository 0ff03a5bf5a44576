// Checks that the Node running the checks (CI's) satisfies kiln's `engines.node` and that of every locked, non-optional
// dependency, so package.json, the lock and the CI machine agree on one Node range. Run by scripts/check.sh.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const semver = require('semver');
const lock = JSON.parse(fs.readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));
const bad = [];
for (const [where, p] of Object.entries(lock.packages ?? {})) {
  const range = p.engines?.node;
  if (range === undefined || p.optional) continue;
  if (!semver.satisfies(process.versions.node, range))
    bad.push(`${where || 'kiln'}@${p.version}: engines.node ${range}`);
}
if (bad.length > 0) {
  console.error(
    `check: Node ${process.versions.node} is outside the range these packages declare:\n  ${bad.join('\n  ')}`,
  );
  console.error(
    'hint: pin or override them in package.json (see docs/CONVENTIONS.md), or change engines and CI together',
  );
  process.exit(1);
}
