# A vsphere-clone build with the variables imagebot injects, for running the
# real Packer against the vCenter simulator. With communicator "none" it
# clones, marks, snapshots and converts to a template in well under a second;
# with "ssh" it powers the clone on and waits for an address that the
# simulator's machines never get, which is where a test kills it.

variable "linked_clone" {
  type    = bool
  default = false
}

variable "communicator" {
  type    = string
  default = "none"
}

variable "build_id" {
  type = string
}

variable "vm_name" {
  type = string
}

variable "vm_notes" {
  type = string
}

variable "base_image" {
  type = string
}

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
  type = bool
}

variable "datacenter" {
  type = string
}

variable "cluster" {
  type = string
}

variable "resource_pool" {
  type = string
}

variable "datastore" {
  type = string
}

variable "network" {
  type = string
}

variable "folder" {
  type = string
}

source "vsphere-clone" "sim" {
  vcenter_server      = var.vcenter_server
  username            = var.vcenter_username
  password            = var.vcenter_password
  insecure_connection = var.insecure_connection
  datacenter          = var.datacenter
  cluster             = var.cluster
  resource_pool       = var.resource_pool
  datastore           = var.datastore
  folder              = var.folder
  network             = var.network

  template     = var.base_image
  linked_clone = var.linked_clone
  vm_name      = var.vm_name
  notes        = var.vm_notes
  configuration_parameters = {
    "imagebot.build_id" = var.build_id
  }

  communicator     = var.communicator
  ssh_username     = "root"
  ssh_password     = "unused-in-the-simulator"
  ssh_timeout      = "2m"
  ip_wait_timeout  = "2m"
  shutdown_timeout = "2m"

  create_snapshot     = true
  convert_to_template = true
}

build {
  sources = ["source.vsphere-clone.sim"]
}
