#!/usr/bin/env bash
# bench-inspect.sh: what the offline inspection (inventory, SBOM, hygiene)
# and the booted-artifact checks add to a real TCG build of an image, side by
# side with that build's Packer time. Builds the image once with `imagebot
# build --force` (its bases from the cache, built first when missing, not
# timed) and reads the phases' durations from its build log, and the sizes
# before and after the sparsify step from its manifest.
#
# Usage: runner/bench-inspect.sh [image]   (default debian12-app)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
image="${1:-debian12-app}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/imagebot" ./cmd/imagebot
base="$(sed -n 's/^base: *//p' "images/$image/env.yaml")"
if [[ -n "$base" ]]; then
  echo "bench: making sure $base is built (not timed)"
  "$tmp/imagebot" build "$base" --with-bases --out "$tmp/warm" >"$tmp/warm.log" || { tail -20 "$tmp/warm.log"; exit 1; }
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s.%N)
"$tmp/imagebot" build "$image" --force --version 0.0.0-bench --out "$tmp/out" >"$tmp/build.out" 2>&1 || { tail -30 "$tmp/out/build.log"; exit 1; }
total=$(echo "$(date +%s.%N) - $start" | bc)
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
log="$tmp/out/build.log"
secs() { # "6 minutes 51 seconds" -> 411
  awk '{s=0; for(i=1;i<NF;i++){ if($(i+1)~/^minute/) s+=$i*60; if($(i+1)~/^second/) s+=$i } print s}'
}
packer=$(grep -o "Build '[^']*' finished after .*" "$log" | tail -n1 | sed 's/.*finished after //' | secs)
inventory=$(grep -o 'read offline in [0-9.]*s' "$log" | grep -o '[0-9.]*' | tail -n1)
checks=$(grep -o 'checks: [0-9]* passed, [0-9]* failed in [0-9.]*s' "$log" | grep -o '[0-9.]*s$' | tr -d s)
sshup=$(grep -o 'checks: SSH up after [0-9.]*s' "$log" | grep -o '[0-9.]*s$' | tr -d s)
finishing=$(grep -o 'artifacts finished in [0-9.]*s' "$log" | grep -o '[0-9.]*' | tail -n1)
artifacts=$(grep -o 'artifacts: [0-9]* files written in [0-9.]*s' "$log" | grep -o '[0-9.]*s$' | tr -d s || true)
waited=$(grep -o 'checks: finishing waited [0-9.]*s' "$log" | grep -o '[0-9.]*s$' | tr -d s || true)
grep -E 'inventory:|hygiene|checks:|check |sparsify:|qcow2:' "$log" | sed 's/^/  log: /'
sparsify=$(grep -o 'free space discarded in [0-9.]*s' "$log" | grep -o '[0-9.]*' | tail -n1)
mode="concurrent with the artifacts"
if [[ -z "$waited" ]]; then # checks after the artifacts (the code before the overlap)
  mode="after the artifacts"
  waited="${checks:-0}"
  artifacts=$(echo "${finishing:-0} - ${inventory:-0} - ${sparsify:-0} - ${checks:-0}" | bc -l)
fi
echo "  sizes (bytes; before -> after the sparsify step):"
python3 - "$tmp/out/manifest.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
c = m.get("compaction") or {}
print(f"    disk data: {c.get('data_bytes_before', 0):>12} -> {c.get('data_bytes_after', 0):>12}  ({c.get('method', 'no sparsify step')})")
for f in m["files"]:
    if f["format"] in ("qcow2", "ova"):
        print(f"    {f['name']:<34} {f.get('size_before', 0):>12} -> {f['size']:>12}")
PY
printf '\n%-40s %10s %10s\n' phase seconds "vs packer"
row() { printf '%-40s %10.1f %9.0f%%\n' "$1" "$2" "$(echo "100 * $2 / $packer" | bc -l)"; }
row "packer build (TCG)" "$packer"
row "inventory + SBOM + hygiene" "${inventory:-0}"
row "checks (boot + SSH + run)" "${checks:-0}"
row "  of which boot until SSH login" "${sshup:-0}"
row "sparsify (e2fsck -E discard)" "${sparsify:-0}"
row "artifacts (qcow2 + ova)" "${artifacts:-0}"
row "finishing waited for the checks" "${waited:-0}"
row "inventory + checks ADD (inv. + wait)" "$(echo "${inventory:-0} + ${waited:-0}" | bc -l)"
row "all finishing (incl. both, qcow2, ova)" "${finishing:-0}"
row "imagebot build, wall" "$total"
echo "checks boot: $mode"
echo "load average (1, 5, 15 min): before the build $load_before, after it $load_after ($(nproc) cores)"
