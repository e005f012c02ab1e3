#!/usr/bin/env bash
# Runs inside the CentOS 7 base machine while vsphere-iso builds it, as root.
# The result becomes a vSphere template that centos7-appliance clones, so
# root's build password stays usable here; the appliance locks it.
set -euxo pipefail

yum -y update
yum -y install cloud-init perl tar
systemctl enable cloud-init vmtoolsd

# Leave no build-time identity behind: machine id, host keys, logs.
truncate -s 0 /etc/machine-id
rm -f /etc/ssh/ssh_host_*
yum clean all
rm -rf /var/cache/yum /tmp/* /var/log/anaconda /root/anaconda-ks.cfg
