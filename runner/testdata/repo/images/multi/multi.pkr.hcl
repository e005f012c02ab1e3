# One template, two sources (as seed 004 builds OpenStack and AWS images
# from one template): a qemu machine any runner here builds, and an
# amazon-ebs image only a runner with the amazon capability may start. The
# qemu one boots a blank disk with no communicator: the BIOS finds nothing
# to boot and reboots at once (reboot-timeout=0), which -no-reboot turns
# into QEMU exiting, the shutdown Packer waits for. A real artifact in seconds.
packer {
  required_plugins {
    qemu = {
      source  = "github.com/hashicorp/qemu"
      version = ">= 1.0.9"
    }
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = ">= 1.2.0"
    }
  }
}

variable "build_id" {
  type = string
}

variable "output_directory" {
  type = string
}

variable "accelerator" {
  type = string
}

source "qemu" "multi" {
  disk_image       = true
  iso_url          = "${path.root}/../../blank.qcow2"
  iso_checksum     = "none"
  output_directory = var.output_directory
  vm_name          = "multi-${var.build_id}.qcow2"
  format           = "qcow2"
  skip_resize_disk = true
  accelerator      = var.accelerator
  headless         = true
  memory           = 256
  communicator     = "none"
  boot_wait        = "1s"
  shutdown_timeout = "2m"
  qemuargs         = [["-boot", "strict=on,reboot-timeout=0"], ["-no-reboot"]]
}

source "amazon-ebs" "multi" {
  region        = "eu-west-1"
  source_ami    = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  ssh_username  = "admin"
  ami_name      = "multi-${var.build_id}"
}

build {
  sources = ["source.qemu.multi", "source.amazon-ebs.multi"]
}
