# CentOS 7 minimal installed from the ISO on vSphere (the seeds' first
# stage): vsphere-iso creates the machine, Packer types the boot command
# through the vSphere API, Anaconda reads the kickstart from a virtual
# floppy, then the machine is snapshotted and converted to a template that
# centos7-appliance clones. The OVF export becomes this image's OVA.
#
# vCenter's address, credentials and inventory are imagebot's configuration,
# never this repository's: imagebot injects the vcenter_* and inventory
# variables below, plus vm_name and vm_notes that mark the machine as this
# build's (so a cancelled build's leftovers can be found and removed).

packer {
  required_version = ">= 1.9.4"
}

variable "image_name" {
  type    = string
  default = "centos7-base"
}

variable "image_version" {
  type    = string
  default = "0.0.0"
}

variable "build_id" {
  type    = string
  default = "local"
}

variable "output_directory" {
  type        = string
  description = "Where the OVF export goes; imagebot sets it to a fresh directory per build."
}

variable "vm_name" {
  type        = string
  description = "imagebot-<build id>-<image>: imagebot finds a build's leftovers by it."
}

variable "vm_notes" {
  type        = string
  default     = ""
  description = "The machine's annotation; carries the build id."
}

# --- vCenter connection and inventory: injected by imagebot ---------------

variable "vcenter_server" {
  type = string
}

variable "vcenter_username" {
  type = string
}

variable "vcenter_password" {
  type      = string
  sensitive = true
}

variable "insecure_connection" {
  type    = bool
  default = false
}

variable "datacenter" {
  type = string
}

variable "cluster" {
  type    = string
  default = ""
}

variable "host" {
  type    = string
  default = ""
}

variable "resource_pool" {
  type    = string
  default = ""
}

variable "datastore" {
  type = string
}

variable "network" {
  type = string
}

variable "folder" {
  type    = string
  default = ""
}

# --- the machine ----------------------------------------------------------

variable "iso_url" {
  type    = string
  default = "https://vault.centos.org/7.9.2009/isos/x86_64/CentOS-7-x86_64-Minimal-2009.iso"
}

variable "iso_checksum" {
  type    = string
  default = "sha256:07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a"
}

variable "cpus" {
  type    = number
  default = 2
}

variable "memory" {
  type    = number
  default = 4096
}

variable "disk_size" {
  type        = number
  default     = 65536
  description = "MiB, thin provisioned."
}

variable "ssh_password" {
  type        = string
  default     = "imagebot-build"
  sensitive   = true
  description = "root's password during builds; centos7-appliance locks it in its image."
}

source "vsphere-iso" "base" {
  vcenter_server      = var.vcenter_server
  username            = var.vcenter_username
  password            = var.vcenter_password
  insecure_connection = var.insecure_connection
  datacenter          = var.datacenter
  cluster             = var.cluster
  host                = var.host
  resource_pool       = var.resource_pool
  datastore           = var.datastore
  folder              = var.folder

  vm_name = var.vm_name
  notes   = var.vm_notes
  configuration_parameters = {
    "imagebot.build_id" = var.build_id
  }

  guest_os_type        = "centos7_64Guest"
  vm_version           = 14
  firmware             = "bios"
  CPUs                 = var.cpus
  cpu_cores            = 1
  RAM                  = var.memory
  disk_controller_type = ["lsilogic"]
  storage {
    disk_size             = var.disk_size
    disk_thin_provisioned = true
  }
  network_adapters {
    network      = var.network
    network_card = "e1000"
  }

  iso_urls     = [var.iso_url]
  iso_checksum = var.iso_checksum
  floppy_content = {
    "ks.cfg" = templatefile("${path.root}/../../kickstart/centos7/ks.cfg", { root_password = var.ssh_password })
  }
  boot_wait    = "15s"
  boot_command = ["<tab> text ks=hd:fd0:/ks.cfg<enter><wait>"]

  communicator     = "ssh"
  ssh_username     = "root"
  ssh_password     = var.ssh_password
  ssh_timeout      = "60m"
  shutdown_command = "shutdown -h now"
  shutdown_timeout = "15m"

  create_snapshot     = true
  convert_to_template = true

  export {
    name             = "${var.image_name}-${var.image_version}"
    output_directory = var.output_directory
    force            = true
    image_files      = false
    manifest         = "sha256"
  }
}

build {
  name    = "centos7-base"
  sources = ["source.vsphere-iso.base"]

  provisioner "shell" {
    script = "${path.root}/provisioner.sh"
  }
}
