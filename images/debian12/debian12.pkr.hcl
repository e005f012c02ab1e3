# Debian 12 minimal, installed from the installer ISO by an unattended preseed
# that Packer's HTTP server hands to debian-installer: the seeds' ISO +
# boot_command + kickstart flow, for Debian. deploy/install-tools.sh makes the
# ISO from Debian's debian-installer-12-netboot-amd64 package (docs/installer.md).
# Packer runs with its working directory set to this directory; imagebot
# injects image_name, image_version, output_directory, accelerator,
# console_log and iso_url (the ISO found by its file name, see docs/installer.md).
# No required_plugins block: Packer 1.9.4 bundles the qemu builder, and newer
# Packers get the plugin from imagebot's plugin directory.

packer {
  required_version = ">= 1.9.4"
}

variable "image_name" {
  type    = string
  default = "debian12"
}

variable "image_version" {
  type    = string
  default = "0.0.0"
}

variable "output_directory" {
  type        = string
  default     = "output"
  description = "Where Packer writes the disk; imagebot sets it to a fresh directory per build."
}

variable "accelerator" {
  type        = string
  default     = "tcg"
  description = "kvm where it really works, tcg otherwise; imagebot checks and sets it."
}

variable "console_log" {
  type        = string
  default     = "/dev/null"
  description = "File that gets the machine's serial console; imagebot copies it into the build log."
}

# The ISO is named by its file; imagebot resolves the name to a path or URL
# (runner configuration, then its ISO cache directory) and sets iso_url.
variable "iso_url" {
  type    = string
  default = "debian12-installer-amd64.iso"
}

# Same package version, same ISO: install-tools.sh makes it reproducibly. A
# new Debian point release brings a new installer (its kernel must match the
# mirror's modules), so this checksum changes with it, and so does the digest.
variable "iso_checksum" {
  type    = string
  default = "sha256:7ab1114c5bd886f5591c457dc8dc0daebb8b4bed128950e4949ca866bdd7eaf7"
}

variable "disk_size" {
  type    = string
  default = "4G"
}

variable "memory" {
  type    = number
  default = 1024
}

variable "cpus" {
  type    = number
  default = 2
}

variable "ssh_password" {
  type        = string
  default     = "imagebot-build"
  sensitive   = true
  description = "root's password in the installed system; derived images lock it."
}

source "qemu" "debian12" {
  iso_url          = var.iso_url
  iso_checksum     = var.iso_checksum
  accelerator      = var.accelerator
  output_directory = var.output_directory
  vm_name          = "${var.image_name}-${var.image_version}.qcow2"
  format           = "qcow2"
  disk_size        = var.disk_size
  disk_interface   = "virtio"
  net_device       = "virtio-net"
  memory           = var.memory
  cpus             = var.cpus
  headless         = true
  qemuargs = [
    ["-serial", "file:${var.console_log}"],
  ]

  # The preseed is served by Packer's HTTP server; the root password is
  # templated in so that it lives in one (sensitive) variable.
  http_bind_address = "127.0.0.1" # the guest reaches it as 10.0.2.2 through user networking
  http_content = {
    "/preseed.cfg" = templatefile("${path.root}/../../kickstart/debian12/preseed.cfg", { root_password = var.ssh_password })
  }
  # isolinux waits at its boot: prompt. With the serial console last, the
  # installer's screens go to the serial port (inside GNU screen, as bookworm's
  # installer does on a serial console) and so into console_log.
  boot_wait = "5s"
  boot_command = [
    "install auto=true priority=critical",
    " url=http://{{ .HTTPIP }}:{{ .HTTPPort }}/preseed.cfg",
    " locale=en_US.UTF-8 keymap=us hostname=debian12 domain=localdomain",
    " console=tty0 console=ttyS0,115200n8<enter>"
  ]

  communicator     = "ssh"
  ssh_username     = "root"
  ssh_password     = var.ssh_password
  ssh_timeout      = "40m"
  shutdown_command = "/sbin/shutdown -hP now"
  shutdown_timeout = "5m"
}

build {
  name    = "debian12"
  sources = ["source.qemu.debian12"]

  provisioner "shell" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["IMAGE_NAME=${var.image_name}", "IMAGE_VERSION=${var.image_version}"]
  }
}
