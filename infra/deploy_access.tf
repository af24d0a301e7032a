# The bootstrap's deploy role of this environment may read the value of the smoke-test API key,
# and only that one. Key ids are generated here, so this stack attaches the permission to the
# role (which exists before this stack: infra/bootstrap).
data "aws_iam_policy_document" "smoke_key" {
  statement {
    sid       = "ReadSmokeTestApiKey"
    actions   = ["apigateway:GET"]
    resources = [module.api_gateway.api_key_arns[var.smoke_api_key]]
  }
}

resource "aws_iam_role_policy" "deploy_smoke_key" {
  name   = "${local.name}-smoke-api-key"
  role   = "${local.name}-github-deploy"
  policy = data.aws_iam_policy_document.smoke_key.json
}
