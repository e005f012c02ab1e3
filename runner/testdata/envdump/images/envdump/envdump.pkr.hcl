# Reads imagebot's environment every way a template can: env() in variable
# defaults, and the shell-local provisioner's own environment.
variable "api_token" {
  type      = string
  sensitive = true
}
variable "gitlab_token" {
  type    = string
  default = env("IMAGEBOT_GITLAB_TOKEN")
}
variable "webhook_secret" {
  type    = string
  default = env("IMAGEBOT_GITLAB_WEBHOOK_SECRET")
}
variable "github_token" {
  type    = string
  default = env("IMAGEBOT_GITHUB_TOKEN")
}
variable "s3_access" {
  type    = string
  default = env("IMAGEBOT_S3_ACCESS_KEY")
}
variable "s3_secret" {
  type    = string
  default = env("IMAGEBOT_S3_SECRET_KEY")
}
variable "database_url" {
  type    = string
  default = env("IMAGEBOT_DATABASE_URL")
}
variable "path" {
  type    = string
  default = env("PATH")
}
variable "not_sensitive" {
  type    = string
  default = "unset"
}
variable "probe_delay" {
  type    = string
  default = "0"
}
variable "probe_paths" {
  type    = string
  default = ""
}

source "null" "envdump" {
  communicator = "none"
}

build {
  sources = ["source.null.envdump"]

  provisioner "shell-local" {
    inline = [
      "echo 'template: ${var.gitlab_token}|${var.webhook_secret}|${var.github_token}|${var.s3_access}|${var.s3_secret}|${var.database_url}|path=${var.path}'",
      "echo 'template-b64: ${base64encode(var.gitlab_token)}|${base64encode(var.webhook_secret)}|${base64encode(var.s3_secret)}|${base64encode(var.database_url)}'",
      "echo 'sensitive-b64: ${base64encode(var.api_token)}'",
      "echo 'not-sensitive: ${var.not_sensitive}'",
    ]
  }

  provisioner "shell-local" {
    script           = "${path.root}/provisioner.sh"
    environment_vars = ["PROBE_PATHS=${var.probe_paths}", "PROBE_DELAY=${var.probe_delay}"]
  }
}
