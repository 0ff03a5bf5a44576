// bench/scan helper: checks a `kiln bulk -n -a --json` output against the generated tree's figures.
// Usage: node bench/lib/scan-check.mjs PLAN.json PORTS   (exit 1 with a message when it does not match)
import fs from 'node:fs';
const [file, ports] = process.argv.slice(2);
const plan = JSON.parse(fs.readFileSync(file, 'utf8'));
const want = Number(ports);
if (plan.counts.build !== want || plan.build.length !== want || plan.skip.length !== 0) {
  process.stderr.write(`plan does not cover the tree: ${JSON.stringify(plan.counts)}, expected ${want} to build\n`);
  process.exit(1);
}
