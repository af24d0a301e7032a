# Once per AWS account: what the environments share or what may exist only once.
#
#   registry.tf    the image repository shared by dev and prd (prd runs the digest dev tested)
#   github.tf      GitHub Actions OIDC provider (created or adopted), per-environment deploy roles
#                  and monitor (capture read-only) roles
#   tfc.tf         Terraform Cloud OIDC provider and per-workspace run roles (dynamic credentials)
#   apigateway.tf  API Gateway's account-wide CloudWatch logging role
#
# The Terraform Cloud workspaces and GitHub environments themselves need the tfe and github
# providers: they are in infra/bootstrap/tfc, a separate root, so that this one inits from a
# provider mirror holding only hashicorp/aws.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account   = data.aws_caller_identity.current.account_id
  partition = data.aws_partition.current.partition
  region    = var.aws_region

  # Names the service stack (infra/) creates; the roles here are scoped to them.
  service = {
    for env in keys(var.environments) : env => {
      name           = "${var.project}-${env}"
      function_arn   = "arn:${local.partition}:lambda:${local.region}:${local.account}:function:${var.project}-${env}"
      alarm_arns     = "arn:${local.partition}:cloudwatch:${local.region}:${local.account}:alarm:${var.project}-${env}-*"
      capture_bucket = "${var.project}-${env}-captures-${local.account}-${local.region}"
    }
  }
}
