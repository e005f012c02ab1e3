#!/bin/sh
# Makes a small partitioned disk without mounting anything: a Debian-like
# tree (os-release, a dpkg status, a kernel) left dirty (host key, history).
set -eu
tree="$OUT/tree"
mkdir -p "$tree/etc/ssh" "$tree/var/lib/dpkg" "$tree/boot" "$tree/root" "$tree/tmp"
printf 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n' >"$tree/etc/os-release"
printf 'Package: dpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.21.22\n' >"$tree/var/lib/dpkg/status"
: >"$tree/boot/vmlinuz-6.1.0-28-amd64"
echo key >"$tree/etc/ssh/ssh_host_ed25519_key"
echo "ls" >"$tree/root/.bash_history"
truncate -s 32M "$OUT/disk.raw"
printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$OUT/disk.raw"
mkfs.ext4 -q -F -E offset=1048576 -d "$tree" "$OUT/disk.raw" 30M
qemu-img convert -O qcow2 "$OUT/disk.raw" "$OUT/disk.qcow2"
rm -rf "$tree" "$OUT/disk.raw"
