variable "image_name" {
  type = string
}

source "null" "tidy" {
  communicator = "none"
}

build {
  sources = ["source.null.tidy"]
  provisioner "shell-local" {
      inline = ["echo ${var.image_name}"]
  }
}
