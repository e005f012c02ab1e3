# debian12-base: the Debian 12 base that boots by itself. It takes the
# partitioned disk that debian12-rootfs made (no bootloader yet), boots it once
# with the kernel and initrd that stage left beside the disk, installs grub from
# inside the machine, adds first-boot SSH host key generation and cleans the
# machine's identity. The artifact boots from its own disk under any hypervisor.

variable "image_name" {
  type    = string
  default = "debian12-base"
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
  description = "the debian12-rootfs disk; its vmlinuz and initrd.img lie beside it"
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

source "qemu" "base" {
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
    ["-kernel", "${dirname(var.base_image)}/vmlinuz"],
    ["-initrd", "${dirname(var.base_image)}/initrd.img"],
    ["-append", "root=/dev/vda1 rw console=ttyS0 net.ifnames=0"],
  ]
  boot_wait        = "2s"
  communicator     = "ssh"
  ssh_username     = "root"
  ssh_password     = var.root_password
  ssh_timeout      = "15m"
  shutdown_command = "shutdown -P now"
  shutdown_timeout = "5m"
}

build {
  sources = ["source.qemu.base"]

  provisioner "shell" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["IMAGE_NAME=${var.image_name}", "IMAGE_VERSION=${var.image_version}"]
  }
}
