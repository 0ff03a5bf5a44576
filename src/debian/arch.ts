/** Debian's name for the architecture this process runs on. */

/** The architecture this Node process runs on, as Debian names it (synchronous and pure: no `dpkg` run). */
export function debianArch(nodeArch: string = process.arch): string {
  return (
    (
      {
        x64: 'amd64',
        arm64: 'arm64',
        arm: 'armhf',
        ia32: 'i386',
        ppc64: 'ppc64el',
        s390x: 's390x',
        riscv64: 'riscv64',
      } as Record<string, string>
    )[nodeArch] ?? nodeArch
  );
}
