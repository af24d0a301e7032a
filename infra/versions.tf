terraform {
  # 1.7: `terraform test` mock providers (infra/tests); 1.6: saved cloud plans (plan -out, apply FILE).
  required_version = ">= 1.7.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100.0, < 6.0.0"
    }
  }

  # One Terraform Cloud workspace per environment (cnw-dev, cnw-prd), both tagged
  # "challenge-neuralworks" and created by infra/bootstrap/tfc. The organisation comes from
  # TF_CLOUD_ORGANIZATION and the workspace from TF_WORKSPACE, so neither is hard-coded here.
  cloud {
    workspaces {
      tags = ["challenge-neuralworks"]
    }
  }
}
