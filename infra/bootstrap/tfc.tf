# Terraform Cloud -> AWS without stored keys (dynamic provider credentials): each workspace
# cnw-<environment> assumes its own run role through Terraform Cloud's OIDC issuer. The workspace
# variables that select the role (TFC_AWS_PROVIDER_AUTH, TFC_AWS_RUN_ROLE_ARN) are set by
# infra/bootstrap/tfc.

locals {
  tfc_provider_arn = var.create_tfc_oidc_provider ? aws_iam_openid_connect_provider.tfc[0].arn : data.aws_iam_openid_connect_provider.tfc[0].arn
  tfc_audience     = "aws.workload.identity"
}

resource "aws_iam_openid_connect_provider" "tfc" {
  count = var.create_tfc_oidc_provider ? 1 : 0

  url            = "https://${var.tfc_hostname}"
  client_id_list = [local.tfc_audience]
  # AWS validates the issuer's certificate chain itself; the thumbprint is the Amazon root CA
  # Terraform Cloud's certificate chains to (accepted by the API, ignored for validation).
  thumbprint_list = ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
}

data "aws_iam_openid_connect_provider" "tfc" {
  count = var.create_tfc_oidc_provider ? 0 : 1
  url   = "https://${var.tfc_hostname}"
}

data "aws_iam_policy_document" "tfc_trust" {
  for_each = var.environments

  statement {
    sid     = "TerraformCloudWorkspace"
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.tfc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.tfc_hostname}:aud"
      values   = [local.tfc_audience]
    }
    # Plan and apply runs of this workspace only.
    condition {
      test     = "StringLike"
      variable = "${var.tfc_hostname}:sub"
      values   = ["organization:${var.tfc_organization}:project:${var.tfc_project}:workspace:${local.service[each.key].name}:run_phase:*"]
    }
  }
}

# Named tfc-<project>-<env>, outside the <project>-<env>-* prefix its own IAM permissions cover, so
# a run can never rewrite the role it runs as.
resource "aws_iam_role" "tfc" {
  for_each = var.environments

  name                 = "tfc-${local.service[each.key].name}"
  description          = "Terraform Cloud workspace ${local.service[each.key].name}: manages that environment's service stack (infra/)."
  assume_role_policy   = data.aws_iam_policy_document.tfc_trust[each.key].json
  max_session_duration = 7200
}

data "aws_iam_policy_document" "tfc" {
  for_each = var.environments

  # Read-only lookups of the plan: the log groups of the region (the provider lists them to read
  # one) and the account's Lambda concurrency quota (the concurrency preconditions).
  statement {
    sid       = "Lookups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account}:log-group:*"]
  }

  statement {
    sid       = "ConcurrencyQuota"
    actions   = ["servicequotas:GetServiceQuota"]
    resources = ["arn:${local.partition}:servicequotas:${local.region}:${local.account}:lambda/L-B99A9384"]
  }

  statement {
    sid       = "ReadTheImage"
    actions   = ["ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:ListTagsForResource"]
    resources = [aws_ecr_repository.service.arn]
  }

  statement {
    sid       = "TheFunction"
    actions   = ["lambda:*"]
    resources = [local.service[each.key].function_arn, "${local.service[each.key].function_arn}:*"]
  }

  # API Gateway ARNs carry generated ids, not names: the REST APIs, usage plans and keys of the
  # region (account settings are the bootstrap's).
  statement {
    sid     = "ApiGateway"
    actions = ["apigateway:DELETE", "apigateway:GET", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"]
    resources = [
      "arn:${local.partition}:apigateway:${local.region}::/restapis",
      "arn:${local.partition}:apigateway:${local.region}::/restapis/*",
      "arn:${local.partition}:apigateway:${local.region}::/usageplans",
      "arn:${local.partition}:apigateway:${local.region}::/usageplans/*",
      "arn:${local.partition}:apigateway:${local.region}::/apikeys",
      "arn:${local.partition}:apigateway:${local.region}::/apikeys/*",
      "arn:${local.partition}:apigateway:${local.region}::/tags/*",
    ]
  }

  statement {
    sid     = "Roles"
    actions = ["iam:*Role", "iam:*RolePolicy", "iam:*RolePolicies", "iam:TagRole", "iam:UntagRole", "iam:ListInstanceProfilesForRole", "iam:UpdateAssumeRolePolicy"]
    resources = [
      "arn:${local.partition}:iam::${local.account}:role/${local.service[each.key].name}-*",
    ]
  }

  statement {
    sid       = "PassRolesToTheirServices"
    actions   = ["iam:PassRole"]
    resources = ["arn:${local.partition}:iam::${local.account}:role/${local.service[each.key].name}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["lambda.amazonaws.com", "firehose.amazonaws.com", "logs.amazonaws.com"]
    }
  }

  statement {
    sid     = "LogGroups"
    actions = ["logs:*"]
    resources = [
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/lambda/${local.service[each.key].name}*",
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/apigateway/${local.service[each.key].name}/*",
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:/aws/kinesisfirehose/${local.service[each.key].name}-*",
      "arn:${local.partition}:logs:${local.region}:${local.account}:log-group:API-Gateway-Execution-Logs_*",
    ]
  }

  statement {
    sid     = "AlarmsAndDashboard"
    actions = ["cloudwatch:*"]
    resources = [
      local.service[each.key].alarm_arns,
      "arn:${local.partition}:cloudwatch::${local.account}:dashboard/${local.service[each.key].name}",
    ]
  }

  statement {
    sid     = "DataAndNotifications"
    actions = ["dynamodb:*", "firehose:*", "s3:*", "sns:*"]
    resources = [
      "arn:${local.partition}:dynamodb:${local.region}:${local.account}:table/${local.service[each.key].name}-*",
      "arn:${local.partition}:firehose:${local.region}:${local.account}:deliverystream/${local.service[each.key].name}-*",
      "arn:${local.partition}:s3:::${local.service[each.key].capture_bucket}",
      "arn:${local.partition}:s3:::${local.service[each.key].capture_bucket}/*",
      "arn:${local.partition}:sns:${local.region}:${local.account}:${local.service[each.key].name}-*",
    ]
  }
}

resource "aws_iam_role_policy" "tfc" {
  for_each = var.environments

  name   = "tfc-${local.service[each.key].name}"
  role   = aws_iam_role.tfc[each.key].id
  policy = data.aws_iam_policy_document.tfc[each.key].json
}
