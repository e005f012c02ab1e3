# A real QEMU build of about ten seconds: the boot sector waits 8 s (BIOS
# int 15h) and then triple-faults, and QEMU (-no-reboot) exits. Used by the
# bot's restart test to have a build running when imagebot is killed.
variable "build_id" {
  type = string
}

variable "output_directory" {
  type = string
}

variable "accelerator" {
  type = string
}

source "qemu" "slow" {
  disk_image       = true
  iso_url          = "${path.root}/../../disks/slow.qcow2"
  iso_checksum     = "none"
  output_directory = var.output_directory
  vm_name          = "slow-${var.build_id}.qcow2"
  format           = "qcow2"
  skip_resize_disk = true
  accelerator      = var.accelerator
  headless         = true
  memory           = 64
  communicator     = "none"
  shutdown_timeout = "2m"
  qemuargs         = [["-no-reboot"]]
  disable_vnc      = true
  boot_wait        = "-1s"
}

build {
  sources = ["source.qemu.slow"]
}
