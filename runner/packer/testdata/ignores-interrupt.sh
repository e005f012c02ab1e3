#!/bin/sh
# Plays a packer that ignores SIGINT and leaves a child behind: Build must
# kill the whole process group after the grace period.
trap '' INT
sleep 3011 &
echo "1795570110,,ui,say,==> fake.stubborn: sleeping"
wait
