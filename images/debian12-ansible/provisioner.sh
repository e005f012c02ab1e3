#!/bin/sh
# debian12-ansible is provisioned by Ansible (resources/ansible/build_image.yaml);
# imagebot requires this file in every image directory.
true
