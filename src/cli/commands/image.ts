/**
 * `kiln image -j JAIL -p TREE -f LIST -t tar|squashfs|raw -o FILE [--overlay DIR] [--size 2G] [--hostname H]
 * [--bootable] [--json]`: a Debian root of the jail's release and architecture with the listed ports' packages
 * installed from kiln's repository of (jail, tree), packed into FILE.
 */
import path from 'node:path';
import type { CliContext } from '../context.js';
import { parseCommand } from '../context.js';
import { UsageError } from '../../util/errors.js';
import { openStore } from '../../store/index.js';
import { getJail } from '../../jail/index.js';
import { IMAGE_TYPES, buildImage, listPackages, type ImageType } from '../../image/index.js';

const HELP = `usage: kiln image -j JAIL -p TREE -f LIST -t tar|squashfs|raw -o FILE [--overlay DIR] [--size 2G]
                  [--hostname H] [--bootable] [--json]

  Makes a Debian root (the jail's release and architecture, cached by identity as the base layer), installs the
  listed ports' packages with apt from kiln's signed repository of (JAIL, TREE) and their system dependencies
  from Debian, copies --overlay on top, sets the hostname, and packs it.
  -t tar        a tar archive of the root      -t squashfs   a squashfs filesystem
  -t raw        a GPT disk image with an ext4 root (made without loop devices); --size sets its size
  --bootable    (raw) a kernel, an initrd and systemd, and a bootloader: SYSLINUX on amd64 (console on ttyS0 too),
                GRUB for UEFI on arm64 (console on ttyAMA0): the disk boots
  With SOURCE_DATE_EPOCH set, tar, squashfs and raw images are byte-identical from run to run (on one machine).`;

/** Parses `2G`, `512M`, `100K` or a number of bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m)
    throw new UsageError(`kiln image: --size ${text} is not a size`, 'write it like 2G, 512M or a number of bytes');
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[
    m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'
  ];
  return Math.floor(Number(m[1]) * unit);
}

/** `kiln image`. */
export async function imageCommand(argv: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommand('image', argv, {
    jail: { type: 'string', short: 'j' },
    tree: { type: 'string', short: 'p' },
    file: { type: 'string', short: 'f' },
    type: { type: 'string', short: 't' },
    output: { type: 'string', short: 'o' },
    overlay: { type: 'string' },
    size: { type: 'string' },
    hostname: { type: 'string' },
    bootable: { type: 'boolean', default: false },
  });
  if (values.help) {
    ctx.out(HELP);
    return 0;
  }
  if (positionals.length > 0)
    throw new UsageError(`kiln image: unexpected argument "${positionals[0]}"`, 'see `kiln image --help`');
  for (const [flag, v] of [
    ['-j JAIL', values.jail],
    ['-p TREE', values.tree],
    ['-f LIST', values.file],
    ['-t TYPE', values.type],
    ['-o FILE', values.output],
  ] as const) {
    if (v === undefined) throw new UsageError(`kiln image: ${flag} is required`, 'see `kiln image --help`');
  }
  if (!(IMAGE_TYPES as readonly string[]).includes(values.type!))
    throw new UsageError(`kiln image: -t ${values.type} is not one of ${IMAGE_TYPES.join(', ')}`);
  if (values.size !== undefined && values.type !== 'raw')
    throw new UsageError('kiln image: --size applies to -t raw only');
  const store = openStore(ctx.home);
  let jail;
  let list;
  try {
    jail = getJail(store, values.jail!);
    list = await listPackages(store, values.tree!, values.file!, ctx.cwd);
  } finally {
    store.close();
  }
  const log = (line: string): void => {
    if (!values.json) ctx.err(line);
  };
  const res = await buildImage(
    {
      home: ctx.home,
      jail,
      tree: list.tree,
      packages: list.ports.map((p) => p.pkgname),
      type: values.type as ImageType,
      output: path.resolve(ctx.cwd, values.output!),
      overlay: values.overlay === undefined ? undefined : path.resolve(ctx.cwd, values.overlay),
      sizeBytes: values.size === undefined ? undefined : parseSize(values.size),
      hostname: values.hostname,
      bootable: values.bootable,
    },
    log,
  );
  if (values.json) {
    ctx.out(
      JSON.stringify({
        output: res.output,
        bytes: res.bytes,
        base: res.base,
        packages: list.ports,
        phases: res.timings.map((t) => ({ name: t.name, seconds: t.wallMs / 1000 })),
      }),
    );
  } else {
    ctx.out(
      `image ${res.output}: ${(res.bytes / 1048576).toFixed(1)} MiB, ${list.ports.length} package(s), base ${res.base.identity.slice(0, 12)} ${res.base.reused ? 'reused' : 'made'}`,
    );
  }
  return 0;
}
