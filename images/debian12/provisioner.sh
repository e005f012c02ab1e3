#!/bin/sh
# Runs inside the freshly installed Debian 12 machine while it is built, as
# root: SSH host keys made again on first boot, and no build-time identity
# left behind (machine id, host keys, logs). Like debian12-base, this image is
# a base: root keeps the build password and password login so that derived
# images (debian12-derived) can log in; a derived image locks root and
# installs the shared sshd settings (docs/installer.md).
set -eux
export DEBIAN_FRONTEND=noninteractive

cat >/etc/systemd/system/imagebot-ssh-hostkeys.service <<'UNIT'
[Unit]
Description=Generate missing SSH host keys (first boot of a clone)
Before=ssh.service
ConditionPathExistsGlob=!/etc/ssh/ssh_host_*_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target ssh.service
UNIT
systemctl enable imagebot-ssh-hostkeys.service

echo "$IMAGE_NAME $IMAGE_VERSION" >/etc/imagebot-release

# First-boot hygiene: no host keys, no machine id, no logs or caches.
rm -f /etc/ssh/ssh_host_*
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/* /root/.bash_history
journalctl --rotate --vacuum-time=1s >/dev/null 2>&1 || true
sync
