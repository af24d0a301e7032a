# API Gateway writes execution and access logs through ONE role per account and region: an
# account-wide setting, so it lives here and not in each environment's stack (where dev and prd
# in one account fought over it).

data "aws_iam_policy_document" "apigateway_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "apigateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  name                 = "${var.project}-apigateway-cloudwatch"
  description          = "Lets API Gateway write execution and access logs in ${var.aws_region}."
  assume_role_policy   = data.aws_iam_policy_document.apigateway_assume.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "apigateway_cloudwatch" {
  count = var.manage_api_gateway_account ? 1 : 0

  role       = aws_iam_role.apigateway_cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_api_gateway_account ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigateway_cloudwatch[0].arn
  # On destroy, clear the account setting instead of leaving it pointing at a deleted role
  # (issue 10, defect 11). Provider 5.x warns that the attribute is deprecated: 6.0 resets by
  # default and drops it; until then resetting happens only when it is set.
  reset_on_delete = true

  depends_on = [aws_iam_role_policy_attachment.apigateway_cloudwatch]
}
