variable "motd_script" {
  type    = string
  default = "missing.sh"
}
