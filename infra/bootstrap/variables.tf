# Inputs of the bootstrap stack: once per AWS account (and region), by an administrator.

variable "project" {
  description = "Short project name: the prefix of every resource name (<project>-<environment>-...)."
  type        = string
  default     = "cnw"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.project))
    error_message = "project must be 2-20 lower case letters, digits or hyphens, starting with a letter."
  }
}

variable "aws_region" {
  description = "Region of the registry and of the service stacks."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "aws_account_id" {
  description = "Optional: the only AWS account this stack may touch (provider allowed_account_ids)."
  type        = string
  default     = null

  validation {
    condition     = var.aws_account_id == null || can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be 12 digits or null."
  }
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose environments may assume the deploy and monitor roles."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "environments" {
  description = "Environments served from this account, each with whether its deploy job may push images (only the environment that builds: dev). prd only pulls the image dev tested."
  type = map(object({
    push_images = bool
  }))
  default = {
    dev = { push_images = true }
    prd = { push_images = false }
  }

  validation {
    condition     = length(var.environments) > 0 && alltrue([for name in keys(var.environments) : contains(["dev", "prd"], name)])
    error_message = "environments are dev and/or prd."
  }

  validation {
    condition     = length([for env in values(var.environments) : env if env.push_images]) <= 1
    error_message = "At most one environment builds and pushes images (dev); the others promote its digests."
  }
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub Actions OIDC provider; false adopts the existing one (an account has at most one per URL: creating a second fails with EntityAlreadyExists)."
  type        = bool
  default     = true
}

variable "tfc_organization" {
  description = "Terraform Cloud organisation whose workspaces cnw-<environment> may assume the run roles (dynamic provider credentials)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,40}$", var.tfc_organization))
    error_message = "tfc_organization must be a Terraform Cloud organisation name."
  }
}

variable "tfc_project" {
  description = "Terraform Cloud project of the workspaces (part of the OIDC subject)."
  type        = string
  default     = "challenge-neuralworks"
}

variable "tfc_hostname" {
  description = "Terraform Cloud (or Enterprise) hostname: the OIDC issuer."
  type        = string
  default     = "app.terraform.io"
}

variable "create_tfc_oidc_provider" {
  description = "Create the account's Terraform Cloud OIDC provider; false adopts the existing one."
  type        = bool
  default     = true
}

variable "manage_api_gateway_account" {
  description = "Manage API Gateway's account-wide CloudWatch logging role in this region (one setting per account and region)."
  type        = bool
  default     = true
}

variable "ecr_untagged_expiry_days" {
  description = "Days after which untagged images (layers of interrupted pushes) expire. Tagged images never expire: any of them may be behind a published Lambda version a rollback returns to."
  type        = number
  default     = 7

  validation {
    condition     = var.ecr_untagged_expiry_days >= 1 && var.ecr_untagged_expiry_days <= 365
    error_message = "ecr_untagged_expiry_days must be between 1 and 365."
  }
}
