provider "aws" {
  region = var.aws_region

  allowed_account_ids = var.aws_account_id == null ? null : [var.aws_account_id]

  default_tags {
    tags = {
      Project    = var.project
      ManagedBy  = "terraform"
      Stack      = "bootstrap"
      Repository = var.github_repository
    }
  }
}
