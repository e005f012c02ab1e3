#!/bin/sh
# Runs inside debian12-base while it is built: makes the disk boot by itself
# (grub in the MBR), makes SSH host keys appear on first boot, and removes the
# machine's identity so every clone gets its own.
set -eu
export DEBIAN_FRONTEND=noninteractive

echo "grub-pc grub-pc/install_devices multiselect /dev/vda" | debconf-set-selections
grub-install --target=i386-pc /dev/vda
update-grub

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

echo "$IMAGE_NAME $IMAGE_VERSION" >/etc/imagebot-base-release

# First-boot hygiene: no host keys, no machine id, no logs or caches.
rm -f /etc/ssh/ssh_host_*
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id
apt-get clean
rm -rf /var/lib/apt/lists/* /tmp/* /var/tmp/* /root/.bash_history
journalctl --rotate --vacuum-time=1s >/dev/null 2>&1 || true
sync
