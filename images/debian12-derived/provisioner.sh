#!/bin/sh
# Runs inside debian12-derived while it is built, as root: the sshd settings
# every imagebot image ships, the version built, and no build password left.
set -eux
install -m 0600 -o root -g root /tmp/99-imagebot.conf /etc/ssh/sshd_config.d/99-imagebot.conf
rm -f /tmp/99-imagebot.conf
# The installer's late_command allowed root password login for the build.
sed -i 's/^PermitRootLogin yes$/#PermitRootLogin prohibit-password/' /etc/ssh/sshd_config
sshd -t
echo "$IMAGE_NAME $IMAGE_VERSION" >/etc/imagebot-release
rm -f /etc/ssh/ssh_host_*
truncate -s 0 /etc/machine-id
rm -rf /tmp/* /var/tmp/* /root/.bash_history
passwd -l root
sync
