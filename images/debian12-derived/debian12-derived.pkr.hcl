# debian12-derived: an image derived from debian12 (the installer-built
# base). It boots the base from its own disk, installs the sshd settings every
# imagebot image ships, records its version and locks root's build password:
# what a final image built on debian12 does.

packer {
  required_version = ">= 1.9.4"
}

variable "image_name" {
  type    = string
  default = "debian12-derived"
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
  description = "the debian12 disk"
}

variable "base_image_checksum" {
  type    = string
  default = "none"
}

variable "accelerator" {
  type    = string
  default = "tcg"
}

variable "console_log" {
  type    = string
  default = "/dev/null"
}

variable "ssh_password" {
  type        = string
  default     = "imagebot-build"
  sensitive   = true
  description = "debian12's build password for root; provisioner.sh locks it."
}

source "qemu" "derived" {
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
  qemuargs = [
    ["-serial", "file:${var.console_log}"],
  ]
  boot_wait        = "2s"
  communicator     = "ssh"
  ssh_username     = "root"
  ssh_password     = var.ssh_password
  ssh_timeout      = "15m"
  shutdown_command = "shutdown -P now"
  shutdown_timeout = "5m"
}

build {
  sources = ["source.qemu.derived"]

  provisioner "file" {
    source      = "${path.root}/../../resources/sshd/99-imagebot.conf"
    destination = "/tmp/99-imagebot.conf"
  }

  provisioner "shell" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["IMAGE_NAME=${var.image_name}", "IMAGE_VERSION=${var.image_version}"]
  }
}
