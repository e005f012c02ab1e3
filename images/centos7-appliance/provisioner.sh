#!/usr/bin/env bash
# Runs inside the appliance while vsphere-clone builds it from the
# centos7-base template, as root.
set -euxo pipefail

yum -y install chrony jq
systemctl enable chronyd
printf 'imagebot appliance %s (build %s)\n' "${IMAGE_VERSION}" "${BUILD_ID}" > /etc/imagebot-release

# A smaller export: zero the free space so the streamOptimized VMDK
# compresses it away (the seeds' tip), then drop caches and identity.
yum clean all
rm -rf /var/cache/yum /tmp/*
dd if=/dev/zero of=/var/tmp/zero bs=1M status=none || true
rm -f /var/tmp/zero
sync
truncate -s 0 /etc/machine-id
rm -f /etc/ssh/ssh_host_*
passwd -l root
