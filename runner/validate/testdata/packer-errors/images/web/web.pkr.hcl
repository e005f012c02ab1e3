variable "output_directory" {
  type = string
}

variable "api_token" {
  type      = string
  sensitive = true
}

source "null" "web" {
  communicator = "none"
  bogus_option = "x"
}

build {
  sources = ["source.null.web"]

  provisioner "shell-local" {
    inline = ["echo ${var.output_directory} ${var.api_token}"]
  }
}
