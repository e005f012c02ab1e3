# A real QEMU build on QEMU's user network (the blank disk of "multi": QEMU
# exits at once, the shutdown Packer waits for) with Packer's HTTP server, whose shell-local
# provisioner, running beside QEMU, fetches a file from that server over
# loopback and then tries to connect to each of probe_addrs (host:port).
variable "build_id" {
  type = string
}

variable "output_directory" {
  type = string
}

variable "accelerator" {
  type = string
}

variable "probe_addrs" {
  type    = string
  default = ""
}

source "qemu" "netprobe" {
  disk_image       = true
  iso_url          = "${path.root}/../../blank.qcow2"
  iso_checksum     = "none"
  output_directory = var.output_directory
  vm_name          = "netprobe-${var.build_id}.qcow2"
  format           = "qcow2"
  skip_resize_disk = true
  accelerator      = var.accelerator
  headless         = true
  memory           = 256
  communicator     = "none"
  boot_wait        = "-1s" # no boot command: nothing to wait for
  disable_vnc      = true   # QEMU may be gone before a VNC connection
  shutdown_timeout = "2m"
  http_content     = { "/hello.txt" = "served-by-packer" }
  qemuargs         = [["-boot", "strict=on,reboot-timeout=0"], ["-no-reboot"]]
}

build {
  sources = ["source.qemu.netprobe"]

  provisioner "shell-local" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["HTTP_PORT=${build.PackerHTTPPort}", "PROBE_ADDRS=${var.probe_addrs}"]
  }
}
