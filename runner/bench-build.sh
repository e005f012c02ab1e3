#!/usr/bin/env bash
# bench-build.sh: wall time of a derived image's build by `imagebot build`
# beside the same template run by plain `packer build` (same base disk, same
# variables, same accelerator), alternating, RUNS times each. imagebot's time
# is split into its Packer phase and artifact finishing (qcow2 compaction,
# OVA export), which plain Packer does not do.
#
# Usage: runner/bench-build.sh [image]   (default debian12-app; RUNS=2)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
image="${1:-debian12-app}"
runs="${RUNS:-2}"
packer_bin="$root/.tools/bin/packer"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/imagebot" ./cmd/imagebot

base="$(sed -n 's/^base: *//p' "images/$image/env.yaml")"
echo "bench: making sure $base is built (not timed)"
"$tmp/imagebot" build "$base" --with-bases --out "$tmp/warm" >"$tmp/warm.log" || { tail -20 "$tmp/warm.log"; exit 1; }
rm -rf "$tmp/warm"
entry="$root/$(ls -td .imagebot/cache/bases/"$base"/*/ | head -n1)"
disk="$entry$(sed -n 's/.*"disk": "\(.*\)".*/\1/p' "$entry/.complete.json")"
sum="$(sed -n 's/.*"sha256": "\(.*\)".*/\1/p' "$entry/.complete.json")"
version="$(sed -n 's/^version: *//p' "images/$image/env.yaml")"

now() { date +%s.%N; }
printf '%-4s %10s %12s %14s %12s\n' run packer imagebot "imagebot:packer" "finishing"
for i in $(seq 1 "$runs"); do
  start=$(now)
  (cd "images/$image" && "$packer_bin" build -machine-readable -color=false -on-error=cleanup \
    -var "image_name=$image" -var "image_version=$version" -var "output_directory=$tmp/plain-out" \
    -var "base_image=$disk" -var "base_image_checksum=sha256:$sum" -var accelerator=tcg . >"$tmp/plain.log") ||
    { tail -20 "$tmp/plain.log"; exit 1; }
  plain=$(echo "$(now) - $start" | bc)
  rm -rf "$tmp/plain-out"

  start=$(now)
  "$tmp/imagebot" build "$image" --force --out "$tmp/ib-out" >"$tmp/ib.log" || { tail -20 "$tmp/ib.log"; exit 1; }
  total=$(echo "$(now) - $start" | bc)
  ran=$(sed -n 's/.*packer ran \([0-9.]*\)s.*/\1/p' "$tmp/ib-out/build.log" | tail -n1)
  fin=$(sed -n 's/.*artifacts finished in \([0-9.]*\)s.*/\1/p' "$tmp/ib-out/build.log" | tail -n1)
  rm -rf "$tmp/ib-out"
  printf '%-4s %9.1fs %11.1fs %13.1fs %11.1fs   imagebot-without-finishing vs packer: %+.1f%%\n' \
    "$i" "$plain" "$total" "$ran" "$fin" "$(echo "($total - $fin - $plain) * 100 / $plain" | bc -l)"
done
