# Prints a sensitive value in every way a careless template might.
variable "api_token" {
  type      = string
  sensitive = true
}

variable "build_id" {
  type = string
}

source "null" "canary" {
  communicator = "none"
}

build {
  sources = ["source.null.canary"]

  provisioner "shell-local" {
    environment_vars = ["TOKEN=${var.api_token}"]
    inline = [
      "echo plain: ${var.api_token}",
      "echo \"quoted: \\\"$TOKEN\\\"\"",
      "echo stderr: $TOKEN >&2",
      "printf 'split: %s\\n' \"$TOKEN\"",
    ]
  }

  provisioner "shell-local" {
    script = "${path.root}/provisioner.sh"
    environment_vars = ["TOKEN=${var.api_token}", "CONFIGURED=${var.build_id}"]
  }
}
