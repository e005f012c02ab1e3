#!/bin/sh
set -eu
echo "$ID start $(date +%s.%N)" >>"$SPANS"
sleep 2
mkdir -p "$OUT"
qemu-img create -q -f qcow2 "$OUT/disk.qcow2" 16M
echo "$ID end $(date +%s.%N)" >>"$SPANS"
