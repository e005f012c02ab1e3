#!/usr/bin/env bash
# provisioner.sh (run on the build host by shell-local, not in a machine): makes a Debian 12 root disk without an ISO and without mounting:
# debootstrap a tree (cached by its package list), make it bootable-ready
# (fstab, network, root login for the next stage), then write an MBR partition
# table into a sparse file and build the ext4 filesystem inside partition 1
# straight from the tree (mkfs.ext4 -d). Beside the qcow2 disk it leaves the
# tree's kernel and initrd, which the next stage (debian12-base) boots once to
# install grub from inside the machine.
#
# Environment: OUTPUT_DIR (must not exist), CACHE_DIR, IMAGE_NAME, DISK_SIZE
# (e.g. 2G), MIRROR, ROOT_PASSWORD.
set -euo pipefail

: "${OUTPUT_DIR:?}" "${CACHE_DIR:?}" "${IMAGE_NAME:?}"
DISK_SIZE="${DISK_SIZE:-2G}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
ROOT_PASSWORD="${ROOT_PASSWORD:?}"
SUITE=bookworm
PACKAGES="linux-image-amd64,openssh-server,systemd-sysv,ifupdown,isc-dhcp-client,iproute2,sudo,udev,grub-pc,dbus,procps,netbase,ca-certificates"

step() { echo "mkrootfs: $*"; }
# Packer stops a cancelled build with SIGINT: exit through the EXIT traps.
trap 'exit 130' INT TERM

# The debootstrap tree is cached by what makes it: suite, mirror, package list.
key=$(printf '%s\n' "$SUITE" "$MIRROR" "$PACKAGES" "v1" | sha256sum | cut -c1-16)
cache="$CACHE_DIR/debootstrap/$key"
if [[ ! -f "$cache/.complete" ]]; then
  step "debootstrap $SUITE ($key) from $MIRROR"
  mkdir -p "$CACHE_DIR/debootstrap"
  tmp=$(mktemp -d "$CACHE_DIR/debootstrap/.tmp-$key-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$tmp/tree" "$MIRROR" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -n 20 "$tmp/debootstrap.log"; exit 1; }
  rm -rf "$tmp/tree/var/cache/apt/archives/"*.deb
  touch "$tmp/tree/.complete"
  # A rename is atomic: a concurrent build sees either nothing or the whole tree.
  mv "$tmp/tree" "$cache" 2>/dev/null || true
  rm -rf "$tmp"
  trap - EXIT
else
  step "debootstrap tree $key from cache"
fi

mkdir -p "$OUTPUT_DIR"
work=$(mktemp -d "${TMPDIR:-/tmp}/mkrootfs-XXXXXX")
trap 'rm -rf "$work"' EXIT
tree="$work/tree"
step "copying tree"
cp -a "$cache" "$tree"
rm -f "$tree/.complete"

step "configuring tree"
uuid=$(cat /proc/sys/kernel/random/uuid)
echo "UUID=$uuid / ext4 errors=remount-ro 0 1" >"$tree/etc/fstab"
echo "$IMAGE_NAME" >"$tree/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$IMAGE_NAME" >"$tree/etc/hosts"
cat >"$tree/etc/network/interfaces" <<'NET'
auto lo
iface lo inet loopback

auto eth0
iface eth0 inet dhcp
NET
echo "root:$ROOT_PASSWORD" | chroot "$tree" chpasswd
mkdir -p "$tree/etc/ssh/sshd_config.d"
echo "PermitRootLogin yes" >"$tree/etc/ssh/sshd_config.d/imagebot.conf"
# grub and the kernel talk on the serial port too, for headless hypervisors.
sed -i 's/^GRUB_CMDLINE_LINUX=.*/GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200 net.ifnames=0"/
  s/^GRUB_CMDLINE_LINUX_DEFAULT=.*/GRUB_CMDLINE_LINUX_DEFAULT=""/
  s/^GRUB_TIMEOUT=.*/GRUB_TIMEOUT=1/' "$tree/etc/default/grub"
printf 'GRUB_TERMINAL="console serial"\nGRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"\n' >>"$tree/etc/default/grub"
echo "$uuid" >"$OUTPUT_DIR/root-uuid"
cp "$(readlink -f "$tree/vmlinuz")" "$OUTPUT_DIR/vmlinuz"
cp "$(readlink -f "$tree/initrd.img")" "$OUTPUT_DIR/initrd.img"

step "writing partitioned disk ($DISK_SIZE)"
raw="$work/disk.raw"
truncate -s "$DISK_SIZE" "$raw"
echo 'label: dos
start=2048, type=83, bootable' | sfdisk --quiet "$raw"
bytes=$(stat -c %s "$raw")
mkfs.ext4 -q -F -U "$uuid" -L root -E offset=1048576 -d "$tree" "$raw" "$(((bytes - 1048576) / 1024))k"
step "converting to qcow2"
qemu-img convert -O qcow2 "$raw" "$OUTPUT_DIR/$IMAGE_NAME.qcow2"
step "done: $OUTPUT_DIR/$IMAGE_NAME.qcow2"
