# debian12-app: an image derived from debian12-base. It boots the base from
# its own disk (no kernel from outside), installs a package built offline
# inside the machine and records its version in /etc/imagebot-release.

variable "image_name" {
  type    = string
  default = "debian12-app"
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

source "qemu" "app" {
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
  sources = ["source.qemu.app"]

  provisioner "shell" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["IMAGE_NAME=${var.image_name}", "IMAGE_VERSION=${var.image_version}"]
  }
}
