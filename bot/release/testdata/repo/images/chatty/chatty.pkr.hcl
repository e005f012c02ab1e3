# A real Packer build that needs no machine: a shell-local provisioner that
# prints a line every half second (for the web page's live log test), then
# makes a small disk that the artifice post-processor hands on.
variable "output_directory" {
  type = string
}

variable "image_name" {
  type = string
}

source "null" "chatty" {
  communicator = "none"
}

build {
  sources = ["source.null.chatty"]

  provisioner "shell-local" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["OUTPUT_DIR=${var.output_directory}", "IMAGE_NAME=${var.image_name}"]
  }

  post-processor "artifice" {
    files = ["${var.output_directory}/${var.image_name}.qcow2"]
  }
}
