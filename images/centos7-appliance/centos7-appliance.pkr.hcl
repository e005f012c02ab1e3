# The seeds' second stage: a business image cloned from the centos7-base
# template with vsphere-clone (a linked clone off the template's snapshot),
# provisioned, snapshotted and exported as OVF. imagebot packs the export
# into the OVA (descriptor first, .mf of SHA256 sums) and removes the clone
# from vCenter after the build.
#
# imagebot injects base_image (the base's kept template, named after its
# inputs digest), the vcenter_* and inventory variables, vm_name and vm_notes.

packer {
  required_version = ">= 1.9.4"
}

variable "image_name" {
  type    = string
  default = "centos7-appliance"
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

variable "base_image" {
  type        = string
  description = "The vSphere template to clone: centos7-base's, as imagebot kept it."
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

variable "cpus" {
  type    = number
  default = 2
}

variable "memory" {
  type    = number
  default = 4096
}

variable "ssh_password" {
  type        = string
  default     = "imagebot-build"
  sensitive   = true
  description = "root's password in the base template; provisioner.sh locks it."
}

source "vsphere-clone" "appliance" {
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
  network             = var.network

  template     = var.base_image
  linked_clone = true

  vm_name = var.vm_name
  notes   = var.vm_notes
  configuration_parameters = {
    "imagebot.build_id" = var.build_id
  }
  CPUs = var.cpus
  RAM  = var.memory

  communicator     = "ssh"
  ssh_username     = "root"
  ssh_password     = var.ssh_password
  ssh_timeout      = "20m"
  shutdown_command = "shutdown -h now"
  shutdown_timeout = "15m"

  create_snapshot     = true
  convert_to_template = false

  export {
    name             = "${var.image_name}-${var.image_version}"
    output_directory = var.output_directory
    force            = true
    image_files      = false
    manifest         = "sha256"
  }
}

build {
  name    = "centos7-appliance"
  sources = ["source.vsphere-clone.appliance"]

  provisioner "shell" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["IMAGE_VERSION=${var.image_version}", "BUILD_ID=${var.build_id}"]
  }
}
