# A template that makes `packer validate` quote a variable of its
# environment in an error ("with var.tok as ..."), as a merge request could.
variable "tok" {
  type    = string
  default = env("IMAGEBOT_GITLAB_TOKEN")
}

locals {
  x = file("/nonexistent/${var.tok}")
}

source "null" "envleak" {
  communicator = "none"
}

build {
  sources = ["source.null.envleak"]
}
