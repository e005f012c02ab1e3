#!/bin/sh
echo "installing the widget"
echo "fatal: widget checksum mismatch" >&2
exit 7
