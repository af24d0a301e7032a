variable "tfc_organization" {
  description = "Terraform Cloud organisation (must already exist)."
  type        = string
}

variable "tfc_hostname" {
  description = "Terraform Cloud (or Enterprise) hostname."
  type        = string
  default     = "app.terraform.io"
}

variable "tfc_project" {
  description = "Terraform Cloud project created for the workspaces (part of the run roles' OIDC subject in infra/bootstrap)."
  type        = string
  default     = "challenge-neuralworks"
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose environments and variables are managed."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "prd_reviewers" {
  description = "GitHub user ids (numbers) who approve production applies and releases (the prd environment's required reviewers)."
  type        = list(number)

  validation {
    condition     = length(var.prd_reviewers) > 0
    error_message = "prd needs at least one reviewer: the saved plan is applied only after an approval."
  }
}

variable "aws_bootstrap_state" {
  description = "Path of infra/bootstrap's state file (its outputs: role ARNs, repository, region)."
  type        = string
  default     = "../terraform.tfstate"
}
