# Rocky Linux 9 minimal, installed from the ISO by an unattended kickstart
# that Packer's HTTP server hands to Anaconda. Packer runs with its working
# directory set to this directory; imagebot injects image_name,
# image_version, output_directory and accelerator.

packer {
  required_version = ">= 1.9.4"
}

variable "image_name" {
  type    = string
  default = "rocky9"
}

variable "image_version" {
  type    = string
  default = "0.0.0"
}

variable "output_directory" {
  type        = string
  description = "Where Packer writes the disk; imagebot sets it to a fresh directory per build."
}

variable "accelerator" {
  type        = string
  default     = "kvm"
  description = "kvm where it really works, tcg otherwise; imagebot checks and sets it."
}

variable "iso_url" {
  type    = string
  default = "https://dl.rockylinux.org/vault/rocky/9.4/isos/x86_64/Rocky-9.4-x86_64-minimal.iso"
}

variable "iso_checksum" {
  type    = string
  default = "sha256:ee3ac97fdffab58652421941599902012179c37535aece76824673105169c4a2"
}

variable "disk_size" {
  type    = string
  default = "20G"
}

variable "memory" {
  type    = number
  default = 2048
}

variable "cpus" {
  type    = number
  default = 2
}

variable "ssh_password" {
  type        = string
  default     = "imagebot-build"
  sensitive   = true
  description = "root's password during the build only; provisioner.sh locks it."
}

source "qemu" "rocky9" {
  iso_url          = var.iso_url
  iso_checksum     = var.iso_checksum
  accelerator      = var.accelerator
  output_directory = var.output_directory
  vm_name          = "${var.image_name}-${var.image_version}.qcow2"
  format           = "qcow2"
  disk_size        = var.disk_size
  disk_interface   = "virtio"
  net_device       = "virtio-net"
  memory           = var.memory
  cpus             = var.cpus
  headless         = true

  # The kickstart is served by Packer's HTTP server; the root password is
  # templated in so that it lives in one (sensitive) variable.
  http_content = {
    "/ks.cfg" = templatefile("${path.root}/../../kickstart/rocky9/ks.cfg", { root_password = var.ssh_password })
  }
  boot_wait = "5s"
  boot_command = [
    "<up><wait><tab>",
    " inst.text inst.ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg console=ttyS0,115200n8",
    "<enter><wait>"
  ]

  communicator     = "ssh"
  ssh_username     = "root"
  ssh_password     = var.ssh_password
  ssh_timeout      = "45m"
  shutdown_command = "/sbin/shutdown -hP now"
  shutdown_timeout = "10m"
}

build {
  name    = "rocky9"
  sources = ["source.qemu.rocky9"]

  provisioner "file" {
    source      = "${path.root}/../../resources/sshd/99-imagebot.conf"
    destination = "/tmp/99-imagebot.conf"
  }

  provisioner "shell" {
    script = "${path.root}/provisioner.sh"
  }
}
