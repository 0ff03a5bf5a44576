import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openStore } from '../store/index.js';
import { KilnError } from '../util/errors.js';
import {
  describeOptions,
  getOptionChoices,
  parseOptionChoice,
  setOptionChoice,
  setOptionChoices,
  type TreeRef,
} from './index.js';
import { recipe, tmpDir, writePort } from './testkit.js';

const OPTS = `options:
  NLS:
    default: false
    description: Native language support
  DOCS:
    default: true
    description: Build the manual
  X11:
    default: false
    description: X11 support
    implies: [NLS]
`;

function setup(t: { after: (fn: () => void) => void }) {
  const root = tmpDir(t);
  const dir = path.join(root, 'ports');
  writePort(dir, 'editors/ed', recipe('1.0', OPTS));
  writePort(dir, 'devel/plain', recipe());
  const store = openStore(path.join(root, 'home'));
  t.after(() => store.close());
  const tree: TreeRef = { name: 'main', layers: [{ name: 'main', dir }] };
  return { store, tree };
}

const isKiln =
  (code: string, re?: RegExp) =>
  (e: unknown): boolean =>
    e instanceof KilnError && e.code === code && (re === undefined || re.test(`${e.message}\n${e.hint ?? ''}`));

test('choices are validated against the recipe and stored per tree', async (t) => {
  const { store, tree } = setup(t);
  await setOptionChoice(store, tree, 'editors/ed', 'NLS', true);
  await setOptionChoice(store, tree, 'editors/ed', 'DOCS', false);
  assert.deepEqual([...getOptionChoices(store, 'main')], [['editors/ed', { DOCS: false, NLS: true }]]);
  assert.deepEqual(getOptionChoices(store, 'other').size, 0);
  const [view] = await describeOptions(store, tree, ['editors/ed']);
  assert.deepEqual(view, {
    origin: 'editors/ed',
    layer: 'main',
    options: [
      { name: 'DOCS', default: true, chosen: false, value: false, description: 'Build the manual' },
      { name: 'NLS', default: false, chosen: true, value: true, description: 'Native language support' },
      { name: 'X11', default: false, value: false, description: 'X11 support' },
    ],
  });
});

test('an unknown option names the origin and the option and lists the valid ones', async (t) => {
  const { store, tree } = setup(t);
  await assert.rejects(
    () => setOptionChoice(store, tree, 'editors/ed', 'NSL', true),
    isKiln('KILN_E_OPTION', /editors\/ed has no option NSL \(its options: DOCS, NLS, X11\)/),
  );
  await assert.rejects(
    () => setOptionChoice(store, tree, 'devel/plain', 'NLS', true),
    isKiln('KILN_E_OPTION', /devel\/plain has no option NLS \(it declares no options\)/),
  );
  await assert.rejects(
    () => setOptionChoice(store, tree, 'devel/nosuch', 'NLS', true),
    isKiln('KILN_E_PORT_NOT_FOUND', /devel\/nosuch/),
  );
  assert.equal(store.getOptions('main').length, 0);
});

test('a batch is all or nothing, and implied options must be on', async (t) => {
  const { store, tree } = setup(t);
  await assert.rejects(
    () =>
      setOptionChoices(store, tree, [
        { origin: 'editors/ed', option: 'NLS', value: true },
        { origin: 'editors/ed', option: 'BOGUS', value: true },
      ]),
    isKiln('KILN_E_OPTION', /BOGUS/),
  );
  assert.equal(store.getOptions('main').length, 0);
  await assert.rejects(
    () => setOptionChoice(store, tree, 'editors/ed', 'X11', true),
    isKiln('KILN_E_OPTION', /X11 is on, and it implies NLS, which is off/),
  );
  await setOptionChoices(store, tree, [
    { origin: 'editors/ed', option: 'X11', value: true },
    { origin: 'editors/ed', option: 'NLS', value: true },
  ]);
  // Turning NLS off again while X11 stays on is refused.
  await assert.rejects(
    () => setOptionChoice(store, tree, 'editors/ed', 'NLS', false),
    isKiln('KILN_E_OPTION', /implies NLS/),
  );
  assert.deepEqual(getOptionChoices(store, tree).get('editors/ed'), { NLS: true, X11: true });
});

test('parseOptionChoice reads ORIGIN:OPTION=on|off', () => {
  assert.deepEqual(parseOptionChoice('editors/ed:NLS=on'), { origin: 'editors/ed', option: 'NLS', value: true });
  assert.deepEqual(parseOptionChoice('editors/ed:NLS=OFF'), { origin: 'editors/ed', option: 'NLS', value: false });
  assert.throws(() => parseOptionChoice('editors/ed:NLS=yes'), isKiln('KILN_E_OPTION', /on or off/));
  assert.throws(() => parseOptionChoice('NLS=on'), isKiln('KILN_E_OPTION', /ORIGIN:OPTION=on\|off/));
});
