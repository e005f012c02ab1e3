# Records when it runs (for the slot test) and makes a tiny qcow2 disk.
variable "repo_root" {
  type = string
}

variable "build_id" {
  type = string
}

variable "output_directory" {
  type = string
}

source "null" "sleeper" {
  communicator = "none"
}

build {
  sources = ["source.null.sleeper"]

  provisioner "shell-local" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["SPANS=${var.repo_root}/spans.log", "ID=${var.build_id}", "OUT=${var.output_directory}"]
  }

  post-processor "artifice" {
    files = ["${var.output_directory}/disk.qcow2"]
  }
}
