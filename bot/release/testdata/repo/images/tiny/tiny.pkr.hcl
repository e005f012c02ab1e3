# The smallest real QEMU build (after the bot's test image): a 1 MiB disk
# whose boot sector triple-faults at once; with -no-reboot QEMU exits, which
# Packer takes as the machine shutting down.
variable "build_id" {
  type = string
}

variable "output_directory" {
  type = string
}

variable "accelerator" {
  type = string
}

source "qemu" "tiny" {
  disk_image       = true
  iso_url          = "${path.root}/../../disks/boot.qcow2"
  iso_checksum     = "none"
  output_directory = var.output_directory
  vm_name          = "tiny-${var.build_id}.qcow2"
  format           = "qcow2"
  skip_resize_disk = true
  accelerator      = var.accelerator
  headless         = true
  memory           = 64
  communicator     = "none"
  shutdown_timeout = "5m"
  qemuargs         = [["-no-reboot"]]
  disable_vnc      = true
  boot_wait        = "-1s"
}

build {
  sources = ["source.qemu.tiny"]
}
