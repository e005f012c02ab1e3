#!/usr/bin/env bash
# bench-compress.sh: compressed qcow2 for publishing, zlib against zstd
# (qemu-img's compression_type): size on disk, time to write it, and a
# consumer's time to convert it back to raw, side by side (farm-bench, A=zstd,
# B=zlib). The uncompressed disk is the yardstick for size.
#
# Usage: runner/bench-compress.sh DISK.qcow2   (RUNS=1)
set -euo pipefail
disk="${1:?usage: bench-compress.sh DISK.qcow2}"
runs="${RUNS:-1}"
tmp="$(mktemp -d "${TMPDIR:-/tmp}/bench-compress.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

write() { echo "qemu-img convert -c -O qcow2 -o compression_type=$1 $disk $tmp/$1.qcow2"; }
echo "== write (A zstd, B zlib)"
farm-bench -n "$runs" --warmup 0 --timeout 1800 --vs "$(write zlib)" -- $(write zstd)
echo "== consumer: convert to raw (A zstd, B zlib)"
farm-bench -n "$runs" --warmup 0 --timeout 1800 --vs "qemu-img convert -O raw $tmp/zlib.qcow2 $tmp/out.raw" -- \
  qemu-img convert -O raw "$tmp/zstd.qcow2" "$tmp/out.raw"
echo "== size on disk"
printf '%-14s %12s\n' variant bytes
printf '%-14s %12s\n' uncompressed "$(stat -c %s "$disk")"
for c in zlib zstd; do printf '%-14s %12s\n' "$c" "$(stat -c %s "$tmp/$c.qcow2")"; done
qemu-img compare -q "$tmp/zlib.qcow2" "$tmp/zstd.qcow2" && echo "zlib and zstd images have identical contents"
