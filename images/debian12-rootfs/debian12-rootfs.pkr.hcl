# debian12-rootfs: the first stage of the Debian 12 base, made without an ISO.
# A `null` source runs provisioner.sh on the build host: debootstrap (cached by
# package list), then a partitioned raw disk built without mounting, as qcow2.
# Its kernel and initrd lie beside the disk for debian12-base, which boots
# them once to install the bootloader. Not meant to be booted by itself.

variable "image_name" {
  type    = string
  default = "debian12-rootfs"
}

variable "output_directory" {
  type    = string
  default = "output"
}

variable "cache_directory" {
  type    = string
  default = "cache"
}

variable "disk_size" {
  type    = string
  default = "2G"
}

variable "mirror" {
  type    = string
  default = "http://deb.debian.org/debian"
}

variable "root_password" {
  type      = string
  default   = "debian-build-pw"
  sensitive = true
}

source "null" "rootfs" {
  communicator = "none"
}

build {
  sources = ["source.null.rootfs"]

  provisioner "shell-local" {
    script = "${path.root}/provisioner.sh"
    environment_vars = [
      "OUTPUT_DIR=${var.output_directory}",
      "CACHE_DIR=${var.cache_directory}",
      "IMAGE_NAME=${var.image_name}",
      "DISK_SIZE=${var.disk_size}",
      "MIRROR=${var.mirror}",
      "ROOT_PASSWORD=${var.root_password}",
    ]
  }

  post-processor "artifice" {
    files = [
      "${var.output_directory}/${var.image_name}.qcow2",
      "${var.output_directory}/vmlinuz",
      "${var.output_directory}/initrd.img",
    ]
  }
}
