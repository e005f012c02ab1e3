#!/bin/sh
# Runs inside debian12-app while it is built, offline: builds a small Debian
# package from files in the machine, installs it with dpkg, writes the
# image's version, and leaves the clone-clean state the base had.
set -eu

pkg=/tmp/imagebot-motd
mkdir -p "$pkg/DEBIAN" "$pkg/usr/local/bin"
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: imagebot-motd
Version: ${IMAGE_VERSION}
Architecture: all
Maintainer: imagebot <imagebot@example.invalid>
Description: prints which image this machine was built from
CONTROL
cat >"$pkg/usr/local/bin/imagebot-motd" <<'SCRIPT'
#!/bin/sh
cat /etc/imagebot-release
SCRIPT
chmod 0755 "$pkg/usr/local/bin/imagebot-motd"
dpkg-deb --build --root-owner-group "$pkg" /tmp/imagebot-motd.deb
dpkg -i /tmp/imagebot-motd.deb
dpkg -s imagebot-motd | grep -q '^Status: install ok installed'

echo "$IMAGE_NAME $IMAGE_VERSION" >/etc/imagebot-release
imagebot-motd

# The build logged in as root with the template's password: that password
# must not open the published image, so root gets none at all ('*', not a
# locked copy of its hash). imagebot's checks log in with a key of their
# own, handed to the booted artifact as a systemd credential.
usermod -p '*' root

# Clone-clean, as the base: host keys come back at first boot.
rm -f /etc/ssh/ssh_host_*
truncate -s 0 /etc/machine-id
rm -rf /tmp/* /var/tmp/* /root/.bash_history
sync
