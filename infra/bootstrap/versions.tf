terraform {
  required_version = ">= 1.7.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }

  # No backend block: an administrator applies this once per account, before Terraform Cloud's
  # workspaces (infra/bootstrap/tfc) exist, so the state is local (terraform.tfstate, ignored by
  # git). Keep it with the account's other administrative records, or move it with
  # `terraform init -migrate-state` after adding a backend; every resource can also be re-adopted
  # with `terraform import` (docs/infra.md, "Bootstrap").
}
