#!/bin/bash
# Fetches from Packer's HTTP server on loopback (it lives beside the build), then tries
# each host:port of PROBE_ADDRS; prints what happened for the test to read.
echo "http: $(curl -sS --max-time 10 "http://127.0.0.1:$HTTP_PORT/hello.txt" 2>&1)"
for a in $PROBE_ADDRS; do
  if timeout 5 bash -c "exec 3<>/dev/tcp/${a%:*}/${a##*:} && echo probe-hello >&3" 2>/dev/null; then
    echo "probe: CONNECTED $a"
  else
    echo "probe: failed $a"
  fi
done
