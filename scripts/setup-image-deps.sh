#!/usr/bin/env bash
# Debian packages for arm64 jails on an amd64 host and for `kiln image` (issue 9), run as root by scripts/setup.sh:
#   qemu-user-static, binfmt-support   run arm64 programs (jails, builds, the arm64 test root) through binfmt_misc
#   arch-test                          mmdebstrap uses it to check that a foreign architecture runs
#   squashfs-tools                     mksquashfs: `kiln image -t squashfs`
#   e2fsprogs                          mkfs.ext4 -d: the ext4 root of `-t raw` without loop devices
#   fdisk                              sfdisk: the GPT partition table of `-t raw`
#   dosfstools, mtools                 mkfs.fat and mcopy: the FAT boot partition of `--bootable`, written without mounting
#   syslinux, syslinux-common          the BIOS bootloader of `--bootable` (`syslinux --offset` installs into an image file)
#   qemu-system-x86                    boots the `--bootable` test image (TCG, no KVM needed)
#   qemu-system-arm, qemu-efi-aarch64  boot an arm64 `--bootable` image (qemu-system-aarch64 and its UEFI firmware;
#                                      the opt-in test KILN_TEST_ARM64_BOOT=1 in src/image/boot.test.ts)
# It also mounts binfmt_misc when missing and enables the registered qemu interpreters.
set -euo pipefail
. "$(dirname "$0")/lib/apt.sh"
apt_install qemu-user-static binfmt-support arch-test squashfs-tools e2fsprogs fdisk dosfstools mtools syslinux syslinux-common qemu-system-x86 \
  qemu-system-arm qemu-efi-aarch64
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || echo "image deps: could not mount binfmt_misc (arm64 jails will not work)" >&2
fi
if [ -e /proc/sys/fs/binfmt_misc/status ]; then update-binfmts --enable qemu-aarch64 || true; fi
