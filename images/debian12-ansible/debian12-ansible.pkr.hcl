# debian12-ansible: an image derived from debian12-base, provisioned by an
# Ansible playbook (resources/ansible/build_image.yaml) with a role
# (resources/ansible/roles/imagebot-release) as in seed 004: the role writes
# /etc/imagebot-release and installs a systemd service that records it at
# every boot. The plugins come from the runner's plugin directory through
# `packer init`, never downloaded.

packer {
  required_plugins {
    qemu = {
      source  = "github.com/hashicorp/qemu"
      version = ">= 1.0.9"
    }
    ansible = {
      source  = "github.com/hashicorp/ansible"
      version = ">= 1.1.0"
    }
  }
}

variable "image_name" {
  type    = string
  default = "debian12-ansible"
}

variable "image_version" {
  type    = string
  default = "0.0.0"
}

variable "output_directory" {
  type    = string
  default = "output"
}

variable "base_image" {
  type        = string
  description = "the debian12-base disk"
}

variable "base_image_checksum" {
  type    = string
  default = "none"
}

variable "accelerator" {
  type    = string
  default = "tcg"
}

variable "root_password" {
  type      = string
  default   = "debian-build-pw"
  sensitive = true
}

source "qemu" "ansible" {
  disk_image       = true
  iso_url          = var.base_image
  iso_checksum     = var.base_image_checksum
  output_directory = var.output_directory
  vm_name          = "${var.image_name}.qcow2"
  format           = "qcow2"
  skip_resize_disk = true
  accelerator      = var.accelerator
  headless         = true
  cpus             = 1
  memory           = 1024
  disk_interface   = "virtio"
  net_device       = "virtio-net"
  boot_wait        = "2s"
  communicator     = "ssh"
  ssh_username     = "root"
  ssh_password     = var.root_password
  ssh_timeout      = "15m"
  shutdown_command = "shutdown -P now"
  shutdown_timeout = "5m"
}

build {
  sources = ["source.qemu.ansible"]

  provisioner "ansible" {
    playbook_file = "${path.root}/../../resources/ansible/build_image.yaml"
    user          = "root"
    # OpenSSH 9's scp speaks SFTP, which Packer's SSH proxy serves only when asked.
    use_sftp         = true
    ansible_env_vars = ["ANSIBLE_CONFIG=${path.root}/../../resources/ansible/ansible.cfg"]
    extra_arguments = [
      "--extra-vars", "imagebot_release_name=${var.image_name} imagebot_release_version=${var.image_version}",
    ]
  }
}
