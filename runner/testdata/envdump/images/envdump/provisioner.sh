#!/bin/sh
# Prints every variable of the build's environment raw, base64 and
# reversed, and tries to read what a build must not reach (PROBE_PATHS).
env | sort
for name in $(env | cut -d= -f1); do
  printf 'b64 %s %s\n' "$name" "$(printenv "$name" | base64 -w0)"
  printf 'rev %s %s\n' "$name" "$(printenv "$name" | rev)"
done
echo "id: $(id -u):$(id -g)"
for p in $PROBE_PATHS; do
  if cat "$p" >/dev/null 2>&1 || ls "$p" >/dev/null 2>&1; then
    echo "probe: READ $p"
  else
    echo "probe: denied $p"
  fi
done
echo "envdump done"
