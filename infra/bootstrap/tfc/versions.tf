terraform {
  required_version = ">= 1.7.0, < 2.0.0"

  # Not in this machine's provider mirror (hashicorp/aws only): this root is checked statically
  # here (tests/infra: hcl2 structure, checkov, fmt) and initialised where the registry is
  # reachable, which also writes its .terraform.lock.hcl (docs/infra.md, "Bootstrap").
  required_providers {
    tfe = {
      source  = "hashicorp/tfe"
      version = ">= 0.60.0, < 1.0.0"
    }
    github = {
      source  = "integrations/github"
      version = ">= 6.0.0, < 7.0.0"
    }
  }

  # Local state, like infra/bootstrap: applied once by an administrator.
}
