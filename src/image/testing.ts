/**
 * Test helpers for images (tests and benches only): a tree with one tiny C port whose program says where it runs,
 * built for real with `kiln bulk` into the repository of (jail, tree), and the shared cache of base roots.
 */
import fs from 'node:fs';
import path from 'node:path';
import { testCacheDir } from '../jail/index.js';

/** The origin and program of {@link writeHelloTree}'s port. */
export const HELLO_ORIGIN = 'misc/kiln-hi';
/** What the program prints, before the machine name (`uname -m`). */
export const HELLO_SAYS = 'hi from kiln on';

/** Base roots shared by test runs (made once; trixie at load 5: minbase 50 s, with the kernel 85 s). */
export function testImageBaseCache(): string {
  return path.join(testCacheDir(), 'image-bases');
}

/**
 * Writes into `dir` a tree `tree/` with one port ({@link HELLO_ORIGIN}: a C program compiled with gcc in the jail,
 * installed as /usr/bin/kiln-hi) and a list file `list.txt` naming it. Returns their paths.
 */
export function writeHelloTree(dir: string): { tree: string; list: string } {
  const tree = path.join(dir, 'tree');
  const port = path.join(tree, HELLO_ORIGIN);
  fs.mkdirSync(port, { recursive: true });
  fs.writeFileSync(
    path.join(port, 'port.yaml'),
    [
      'version: "1.0"',
      'summary: a tiny C program that says where it runs',
      'arch: any',
      'build:',
      '  system: script',
      '  script: |',
      "    cat > hi.c <<'C'",
      '    #include <stdio.h>',
      '    #include <sys/utsname.h>',
      `    int main(void) { struct utsname u; uname(&u); printf("${HELLO_SAYS} %s\\n", u.machine); return 0; }`,
      '    C',
      '    gcc -O2 -o kiln-hi hi.c',
      '    install -D -m 755 kiln-hi "$DESTDIR/usr/bin/kiln-hi"',
      '',
    ].join('\n'),
  );
  const list = path.join(dir, 'list.txt');
  fs.writeFileSync(list, `${HELLO_ORIGIN}\n`);
  return { tree, list };
}
