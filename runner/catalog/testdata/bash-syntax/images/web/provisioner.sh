#!/usr/bin/env bash
set -euo pipefail
if true; then
  echo yes
fi fi
echo done
