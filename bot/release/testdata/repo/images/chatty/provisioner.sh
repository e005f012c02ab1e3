#!/bin/sh
# Runs on the build host (shell-local): a log that grows for a few seconds,
# then a small empty qcow2 disk as the artifact.
set -eu
mkdir -p "$OUTPUT_DIR"
i=1
while [ "$i" -le "${LINES_TO_PRINT:-16}" ]; do
  echo "chatty line $i of ${LINES_TO_PRINT:-16}"
  i=$((i + 1))
  sleep 0.5
done
qemu-img create -q -f qcow2 "$OUTPUT_DIR/$IMAGE_NAME.qcow2" 16M
