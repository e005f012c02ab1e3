#!/usr/bin/env bash
# bench.sh: imagebot's S3 upload (runner/store/s3 Put: parallel parts, sha256
# verified end to end) against Debian's `aws s3 cp` on the same file, to a
# MinIO on loopback, runs alternating (farm-bench --vs). Then the peak memory
# of a 10 GiB upload from a streamed source.
#
# Usage: runner/store/s3/bench.sh [SIZE_MB (default 800)] [RUNS (default 5)]
# Needs: .tools/bin/minio (deploy/install-tools.sh), Debian's awscli
# (/usr/bin/aws), farm-bench, /usr/bin/time. Leaves nothing running.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
size_mb="${1:-800}" runs="${2:-5}"
aws=/usr/bin/aws
[[ -x $aws ]] || { echo "bench.sh: Debian's awscli is missing (apt-get install awscli)" >&2; exit 1; }
work="$(mktemp -d)"
minio_pid=""
cleanup() { [[ -n $minio_pid ]] && kill "$minio_pid" 2>/dev/null && wait "$minio_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/s3put" "$root/runner/store/s3/internal/s3put"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export MINIO_ROOT_USER=benchadmin MINIO_ROOT_PASSWORD=benchsecret123
export AWS_ACCESS_KEY_ID=$MINIO_ROOT_USER AWS_SECRET_ACCESS_KEY=$MINIO_ROOT_PASSWORD AWS_DEFAULT_REGION=us-east-1
export S3PUT_AK=$MINIO_ROOT_USER S3PUT_SK=$MINIO_ROOT_PASSWORD
"$root/.tools/bin/minio" server --quiet --address "127.0.0.1:$port" "$work/data" >"$work/minio.log" 2>&1 &
minio_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/minio/health/live" >/dev/null && break; sleep 0.2; done
$aws --endpoint-url "http://127.0.0.1:$port" s3 mb s3://bench >/dev/null

head -c "$((size_mb << 20))" /dev/urandom >"$work/image.qcow2"
sum=$(sha256sum "$work/image.qcow2" | cut -d' ' -f1)
echo "file: $size_mb MiB, sha256 $sum; $(nproc) cores; $($aws --version)"
echo "A = imagebot (runner/store/s3 Put, sha256 verified), B = aws s3 cp (no sha256 check)"
farm-bench -n "$runs" --timeout 600 \
  --vs "$aws --endpoint-url http://127.0.0.1:$port s3 cp --only-show-errors $work/image.qcow2 s3://bench/aws/image.qcow2" \
  -- "$work/s3put" -endpoint "127.0.0.1:$port" -bucket bench -key imagebot/image.qcow2 -sha256 "$sum" "$work/image.qcow2"

rm -f "$work/image.qcow2"
rm -rf "$work/data/bench/aws" "$work/data/bench/imagebot"
echo
echo "memory: 10 GiB streamed through Put (max resident set size of the whole process):"
/usr/bin/time -f '%M KiB max RSS, %e s wall' "$work/s3put" -endpoint "127.0.0.1:$port" -bucket bench -key big/zeros.raw -zeros 10GiB
