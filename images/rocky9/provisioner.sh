#!/usr/bin/env bash
# Runs inside the Rocky 9 machine while it is built, as root.
set -euxo pipefail

# sshd settings shared by every image (copied in by the file provisioner).
install -m 0600 -o root -g root /tmp/99-imagebot.conf /etc/ssh/sshd_config.d/99-imagebot.conf
rm -f /tmp/99-imagebot.conf
sshd -t

dnf -y update
dnf -y install cloud-init qemu-guest-agent tar
systemctl enable cloud-init qemu-guest-agent

# Leave no build-time identity behind: machine id, host keys, logs.
truncate -s 0 /etc/machine-id
rm -f /etc/ssh/ssh_host_*
dnf clean all
rm -rf /var/cache/dnf /tmp/* /var/log/anaconda
passwd -l root
