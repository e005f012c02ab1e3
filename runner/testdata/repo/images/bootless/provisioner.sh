#!/bin/sh
# Makes a small partitioned disk without mounting anything: a Debian-like
# tree (os-release, a dpkg status, a kernel file) and no bootloader, with
# 64 MiB that do not compress, so that writing the artifacts takes a moment.
set -eu
tree="$OUT/tree"
mkdir -p "$tree/etc" "$tree/var/lib/dpkg" "$tree/boot"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' >"$tree/etc/os-release"
printf 'Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.21.22\n' >"$tree/var/lib/dpkg/status"
: >"$tree/boot/vmlinuz-6.1.0-28-amd64"
echo 0123456789abcdef0123456789abcdef >"$tree/etc/machine-id"
head -c 64M /dev/urandom >"$tree/var/blob"
truncate -s 96M "$OUT/disk.raw"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$OUT/disk.raw"
mkfs.ext4 -q -F -E offset=1048576 -d "$tree" "$OUT/disk.raw" 94M
qemu-img convert -O qcow2 "$OUT/disk.raw" "$OUT/disk.qcow2"
rm -rf "$tree" "$OUT/disk.raw"
