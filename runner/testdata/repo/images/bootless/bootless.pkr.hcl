# Makes a small clean disk without a bootloader (see provisioner.sh): it
# never reaches SSH, so a checks boot of it ends only when it is cancelled.
variable "output_directory" {
  type = string
}

# Never built: the runner's checks read their login from a qemu source.
source "qemu" "login" {
  ssh_username = "root"
  ssh_password = "unused"
}

source "null" "bootless" {
  communicator = "none"
}

build {
  sources = ["source.null.bootless"]

  provisioner "shell-local" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["OUT=${var.output_directory}"]
  }

  post-processor "artifice" {
    files = ["${var.output_directory}/disk.qcow2"]
  }
}
