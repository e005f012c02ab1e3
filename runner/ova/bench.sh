#!/usr/bin/env bash
# bench.sh: imagebot's OVA export against the shell pipeline it replaces,
# on the same input, side by side (wall time, CPU time, peak memory, size).
#
#   imagebot ova disk.qcow2 -o out.ova
#   vs
#   qemu-img convert -O vmdk -o subformat=streamOptimized + sha256sum (.mf)
#   + tar + sha256sum (.ova.sha256)
#
# The input is generated once under $BENCH_DIR (default /tmp/imagebot-ova-bench):
# a qcow2 of 3 GiB virtual size holding ~700 MB of mixed data, shaped like an
# installed system: the files of a Debian root tree (the runner's debootstrap
# cache, or $BENCH_TREE; else /usr), ~50 MB of random bytes and ~100 MB of
# text, scattered over the disk. Both runs read it from the page cache.
#
# Usage: runner/ova/bench.sh [runs]     (default 1 run of each)
# Needs: go, qemu-img, GNU time (/usr/bin/time), tar, sha256sum, openssl.
set -euo pipefail

runs=${1:-1}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench=${BENCH_DIR:-/tmp/imagebot-ova-bench}
mkdir -p "$bench"
tree=${BENCH_TREE:-$(ls -d "$root"/.imagebot/cache/debootstrap/*/ 2>/dev/null | head -n1 || true)}
tree=${tree:-/usr}
input="$bench/input-$(basename "$tree").qcow2"
say() { printf 'bench: %s\n' "$*" >&2; }

[[ -x /usr/bin/time ]] || { echo "bench: needs GNU time at /usr/bin/time (apt-get install -y time)" >&2; exit 2; }
qemu_img=$(command -v qemu-img) || { echo "bench: needs qemu-img" >&2; exit 2; }

if [[ ! -s "$input" ]]; then
  say "generating the input once: $input"
  raw="$bench/input.raw"
  rm -f "$raw"
  truncate -s 3G "$raw"
  MiB=$((1 << 20))
  # ~550 MB of real files (binaries, libraries, text) at 64 MiB.
  say "files from $tree"
  tar -C "$tree" -cf - . 2>/dev/null | head -c $((550 * MiB)) |
    dd of="$raw" bs=1M seek=64 conv=notrunc status=none || true # head closes the pipe early
  # ~50 MB of incompressible bytes at 1 GiB (deterministic: AES-CTR of zeros).
  openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f -iv 0 </dev/zero 2>/dev/null |
    head -c $((50 * MiB)) | dd of="$raw" bs=1M seek=1024 conv=notrunc status=none || true
  # ~100 MB of text at 2 GiB.
  find /usr/share/doc /usr/share/common-licenses -type f \( -name '*.txt' -o -name 'copyright' -o -name '*.md' \) -print0 2>/dev/null |
    xargs -0 cat 2>/dev/null | head -c $((40 * MiB)) >"$bench/text" || true
  while cat "$bench/text"; do :; done 2>/dev/null | head -c $((100 * MiB)) |
    dd of="$raw" bs=1M seek=2048 conv=notrunc status=none || true
  rm -f "$bench/text"
  "$qemu_img" convert -O qcow2 "$raw" "$input.tmp"
  mv "$input.tmp" "$input"
  rm -f "$raw"
fi

say "building imagebot"
(cd "$root" && go build -o "$bench/imagebot" ./cmd/imagebot)

# measure NAME CMD...: runs CMD under GNU time, prints "wall cpu maxrss_kb".
measure() {
  local log="$bench/time.log"
  /usr/bin/time -v -o "$log" "$@" >/dev/null
  local wall cpu rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" |
    awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {print u+s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  echo "$wall $cpu $rss"
}

baseline() { # the pipeline imagebot replaces (same descriptor as imagebot's)
  set -e
  local out=$1 in=$2
  rm -rf "$out" && mkdir -p "$out"
  tar -C "$out" -xf "$bench/a/bench.ova" bench.ovf
  qemu-img convert -O vmdk -o subformat=streamOptimized "$in" "$out/bench-disk1.vmdk"
  (cd "$out" && for f in bench.ovf bench-disk1.vmdk; do
    printf 'SHA256(%s)= %s\n' "$f" "$(sha256sum "$f" | cut -d' ' -f1)"
  done >bench.mf)
  tar -C "$out" --format=ustar -cf "$out/bench.ova" bench.ovf bench.mf bench-disk1.vmdk
  (cd "$out" && sha256sum bench.ova >bench.ova.sha256)
}
export -f baseline
export bench

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
declare -a A B
for ((i = 1; i <= runs; i++)); do
  cat "$input" >/dev/null # both start from the page cache
  rm -rf "$bench/a" && mkdir -p "$bench/a"
  say "run $i: imagebot ova"
  A+=("$(measure "$bench/imagebot" ova "$input" -o "$bench/a/bench.ova" --name bench --version 1.0.0)")
  cat "$input" >/dev/null
  say "run $i: qemu-img + sha256sum + tar"
  B+=("$(measure bash -c 'baseline "$bench/b" "$1"' _ "$input")")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# Check both outputs before reporting on them.
(cd "$bench/a" && sha256sum -c --quiet bench.ova.sha256)
(cd "$bench/b" && sha256sum -c --quiet bench.ova.sha256)
[[ "$(tar -tf "$bench/a/bench.ova" | head -n1)" == bench.ovf ]] || { echo "bench: imagebot's OVA does not list the descriptor first" >&2; exit 1; }

div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
best() { # smallest wall time of the runs, with its cpu and rss
  printf '%s\n' "$@" | sort -n -k1,1 | head -n1
}
read -r aw ac ar <<<"$(best "${A[@]}")"
read -r bw bc br <<<"$(best "${B[@]}")"
as=$(stat -c %s "$bench/a/bench.ova")
bs=$(stat -c %s "$bench/b/bench.ova")
used=$("$qemu_img" info "$input" | awk -F': ' '/disk size/ {print $2}')

echo
echo "input: $input (3 GiB virtual, $used on disk; files from $tree), $(nproc) cores, best of $runs run(s)"
echo "load average before: $load_before   after: $load_after"
printf '%-44s %10s %10s %12s %12s\n' "" "wall s" "cpu s" "peak MiB" "OVA MB"
printf '%-44s %10.2f %10.2f %12.1f %12.1f\n' "imagebot ova" "$aw" "$ac" "$(div "$ar" 1024)" "$(div "$as" 1000000)"
printf '%-44s %10.2f %10.2f %12.1f %12.1f\n' "qemu-img streamOptimized + sha256sum + tar" "$bw" "$bc" "$(div "$br" 1024)" "$(div "$bs" 1000000)"
printf '%-44s %10.1fx\n' "speed-up (wall)" "$(div "$bw" "$aw")"
