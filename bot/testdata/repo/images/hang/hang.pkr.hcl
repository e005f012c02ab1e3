# A real QEMU build that never ends by itself: the boot sector spins, and
# Packer waits for a shutdown that never comes until the build is cancelled.
# Used by the bot's /cancel and restart tests.
variable "build_id" {
  type = string
}

variable "output_directory" {
  type = string
}

variable "accelerator" {
  type = string
}

source "qemu" "hang" {
  disk_image       = true
  iso_url          = "${path.root}/../../disks/hang.qcow2"
  iso_checksum     = "none"
  output_directory = var.output_directory
  vm_name          = "hang-${var.build_id}.qcow2"
  format           = "qcow2"
  skip_resize_disk = true
  accelerator      = var.accelerator
  headless         = true
  memory           = 64
  communicator     = "none"
  shutdown_timeout = "20m"
  qemuargs         = [["-no-reboot"]]
  disable_vnc      = true
  boot_wait        = "-1s"
}

build {
  sources = ["source.qemu.hang"]
}
