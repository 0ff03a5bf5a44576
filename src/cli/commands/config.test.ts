import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { main } from '../main.js';

async function run(args: string[], home: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, {
    home,
    out: (t) => {
      out += `${t}\n`;
    },
    err: (t) => {
      err += `${t}\n`;
    },
    env: {},
    cwd: home,
    isTTY: false,
  });
  return { code, out, err };
}

test('kiln config prints every setting with its value and doc, marking what kiln.yaml changed', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-config-cli-'));
  try {
    const absent = await run(['config'], home);
    assert.equal(absent.code, 0, absent.err);
    assert.match(absent.out, /\(absent: every setting has its default\)/);
    assert.match(absent.out, /^keep_generations = 5 +# Repository generations kept; older ones are deleted$/m);
    assert.match(absent.out, /^serve\.listen = 127\.0\.0\.1:8080 +# /m);
    assert.match(absent.out, /^debian_mirror = \(unset: .+\) +# /m);

    fs.writeFileSync(path.join(home, 'kiln.yaml'), 'keep_generations: 3\njob_budget: fixed\n');
    const set = await run(['config'], home);
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /^keep_generations = 3 +# .*\[default: 5\]$/m);
    assert.match(set.out, /^job_budget = fixed +# .*\[default: adaptive\]$/m);

    const json = await run(['config', '--json'], home);
    const obj = JSON.parse(json.out) as {
      exists: boolean;
      effective: { keep_generations: number };
      settings: { key: string; default: unknown }[];
    };
    assert.equal(obj.exists, true);
    assert.equal(obj.effective.keep_generations, 3);
    assert.equal(obj.settings.find((s) => s.key === 'keep_generations')?.default, 5);

    fs.writeFileSync(path.join(home, 'kiln.yaml'), 'keep_generations: none\nbogus: 1\n');
    const bad = await run(['config'], home);
    assert.equal(bad.code, 2);
    const file = path.join(home, 'kiln.yaml');
    assert.match(
      bad.err,
      new RegExp(
        `^${file.replace(/[.]/g, '\\.')}:1:19: keep_generations: must be a number, not the string "none"$`,
        'm',
      ),
    );
    assert.match(bad.err, /:2:1: bogus: unknown key "bogus"/);
    assert.match(bad.err, /^hint: fix kiln\.yaml/m);

    assert.equal((await run(['config', 'extra'], home)).code, 2);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
