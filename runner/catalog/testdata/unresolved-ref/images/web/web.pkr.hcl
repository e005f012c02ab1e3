variable "ks_dir" {
  type = string
}

source "null" "x" {
  communicator = "none"
}

build {
  sources = ["source.null.x"]

  provisioner "shell-local" {
    inline = [file("${var.ks_dir}/ks.cfg")]
  }
}
