# TFE_TOKEN (a Terraform Cloud user or organisation token) is the only manual secret; GITHUB_TOKEN
# is the administrator's own session (`gh auth token`), not a stored secret.
provider "tfe" {
  hostname     = var.tfc_hostname
  organization = var.tfc_organization
}

provider "github" {
  owner = split("/", var.github_repository)[0]
}
