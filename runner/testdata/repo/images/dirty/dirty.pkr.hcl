# Makes a small dirty disk (see provisioner.sh).
variable "output_directory" {
  type = string
}

source "null" "dirty" {
  communicator = "none"
}

build {
  sources = ["source.null.dirty"]

  provisioner "shell-local" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["OUT=${var.output_directory}"]
  }

  post-processor "artifice" {
    files = ["${var.output_directory}/disk.qcow2"]
  }
}
