source "null" "x" {
  communicator = "none"
}

build {
  sources = ["source.null.x"]

  provisioner "shell-local" {
    inline = [templatefile("${path.root}/../../kickstart/base/ks.cfg", {})]
  }
}
