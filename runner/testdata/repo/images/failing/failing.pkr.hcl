# A provisioner that fails with a recognisable error line.
source "null" "failing" {
  communicator = "none"
}

build {
  sources = ["source.null.failing"]

  provisioner "shell-local" {
    script = "${path.root}/provisioner.sh"
  }
}
