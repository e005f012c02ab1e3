#!/usr/bin/env bash
# bench-reuse.sh: reuse by digest (runner/store FindReusable + Reuse: find the
# published build of the same inputs, copy its artifacts server-side, write
# the new manifest last) against publishing the same artifact again (what a
# rebuild costs AFTER Packer: the verified upload), on one MinIO on loopback,
# runs alternating (farm-bench --vs). Each run writes a new MR build.
#
# Usage: runner/store/bench-reuse.sh [SIZE_MB (default 800)] [RUNS (default 3)]
# Needs: .tools/bin/minio (deploy/install-tools.sh), farm-bench. Leaves nothing running.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
size_mb="${1:-800}" runs="${2:-3}"
work="$(mktemp -d)"
minio_pid=""
cleanup() { [[ -n $minio_pid ]] && kill "$minio_pid" 2>/dev/null && wait "$minio_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/reusebench" "$root/runner/store/internal/reusebench"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export MINIO_ROOT_USER=benchadmin MINIO_ROOT_PASSWORD=benchsecret123
export RB_AK=$MINIO_ROOT_USER RB_SK=$MINIO_ROOT_PASSWORD
"$root/.tools/bin/minio" server --quiet --address "127.0.0.1:$port" "$work/data" >"$work/minio.log" 2>&1 &
minio_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/minio/health/live" >/dev/null && break; sleep 0.2; done
mkdir -p "$work/data/bench"
rb=("$work/reusebench" -endpoint "127.0.0.1:$port" -bucket bench)

head -c "$((size_mb << 20))" /dev/urandom >"$work/image.qcow2"
echo "file: $size_mb MiB; $(nproc) cores; first build: $("${rb[@]}" publish "$work/image.qcow2")"
echo "A = reuse by digest (find + server-side copy + manifest), B = publish the same file again (verified upload)"
farm-bench -n "$runs" --timeout 900 \
  --vs "${rb[*]} publish $work/image.qcow2" \
  -- "${rb[@]}" reuse
