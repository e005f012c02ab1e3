# A real QEMU machine that never becomes reachable: a blank disk, so the
# build sits in "Waiting for SSH" until it is cancelled or times out.
variable "build_id" {
  type = string
}

variable "output_directory" {
  type = string
}

variable "accelerator" {
  type = string
}

source "qemu" "stuck" {
  disk_image       = true
  iso_url          = "${path.root}/../../blank.qcow2"
  iso_checksum     = "none"
  output_directory = var.output_directory
  vm_name          = "stuck-${var.build_id}.qcow2"
  format           = "qcow2"
  skip_resize_disk = true
  accelerator      = var.accelerator
  headless         = true
  memory           = 256
  communicator     = "ssh"
  ssh_username     = "nobody"
  ssh_password     = "none"
  ssh_timeout      = "30m"
  shutdown_command = "true"
}

build {
  sources = ["source.qemu.stuck"]
}
