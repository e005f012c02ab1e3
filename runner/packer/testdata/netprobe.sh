#!/bin/bash
# A stand-in for packer: tries to connect to each host:port of PROBE_ADDRS
# and to a closed port on loopback ("refused" there shows loopback is up;
# "unreachable" would mean it is down), then prints its uid.
for a in $PROBE_ADDRS 127.0.0.1:1; do
  if out=$(timeout 5 bash -c "exec 3<>/dev/tcp/${a%:*}/${a##*:}" 2>&1); then
    echo "probe: CONNECTED $a"
  else
    echo "probe: failed $a: $out"
  fi
done
echo "uid: $(id -u)"
