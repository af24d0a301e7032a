# The inference function: a container image behind an alias (`live`) that API Gateway invokes.
#
# Ownership split (docs/infra.md): Terraform owns the function's configuration, the alias'
# existence and the permissions; the deploy command owns *which image* runs and *which versions*
# the alias routes to (canary weights included). Hence the ignore_changes below: without them every
# `terraform apply` would roll the service back to the image it was created with.

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.name}-lambda"
  description          = "Execution role of ${var.name}: its own logs, traces and the departures table, nothing else."
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs already encrypts at rest; the logs hold request ids, latencies and public flight-schedule fields, no personal data, so a customer-managed KMS key would add cost without reducing risk.
  # Retention below checkov's one-year floor (CKV_AWS_338) on purpose: it is a validated variable (var.log_retention_days) chosen per environment; a one-year floor would multiply storage cost for operational logs nobody reads after a few weeks (captured predictions are kept in S3 instead).
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "OwnLogGroupOnly"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  # X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions: "*" is the only
  # valid resource.
  statement {
    sid       = "XRayWrite"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  # The departures store: read a flight, query a day's window (index by_day), write reports.
  # No Scan, no DeleteItem (TTL expires old reports), no table administration.
  statement {
    sid = "DeparturesReadWrite"
    actions = [
      "dynamodb:BatchWriteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]
    resources = [var.departures_table_arn, "${var.departures_table_arn}/index/*"]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "${var.name}-lambda-execution"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.execution.json
}

# Read only when concurrency is reserved or provisioned: AWS refuses either when it would leave
# fewer than 100 unreserved executions in the account (new accounts start with a quota of 10, so
# none fits) (issue 10, defect 1).
data "aws_servicequotas_service_quota" "concurrency" {
  count = var.reserved_concurrency != null || var.provisioned_concurrency > 0 ? 1 : 0

  service_code = "lambda"
  quota_code   = "L-B99A9384" # Concurrent executions
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function calls no private resource (models ship inside the image, DynamoDB has a public regional endpoint reached over TLS with IAM); a VPC would only add ENI cold-start cost and a NAT bill.
  #checkov:skip=CKV_AWS_116:API Gateway invokes the function synchronously; a dead-letter queue only receives failed asynchronous events, of which there are none.
  #checkov:skip=CKV_AWS_272:Lambda code signing applies to .zip packages only; the image is pinned by digest from an immutable-tag ECR repository with scan on push.
  #checkov:skip=CKV_AWS_173:The environment variables are non-secret settings (stage, log level, sample rate, table name); a customer-managed KMS key would protect nothing (AWS already encrypts them at rest).
  function_name = var.name
  description   = "SCL departure delay predictions (API Gateway proxy handler)"
  role          = aws_iam_role.this.arn
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = ["x86_64"]
  memory_size   = var.memory_mb
  timeout       = var.timeout_seconds
  # publish = true gives the alias a real version at creation. Later Terraform config changes also
  # publish a version, but the alias ignores them: config reaches traffic with the next smoke-tested
  # deploy, never untested.
  publish = true
  # -1 is the provider's "unreserved" (the account's shared pool).
  reserved_concurrent_executions = var.reserved_concurrency == null ? -1 : var.reserved_concurrency

  environment {
    # CNW_MODELS_DIR is baked into the image (it is a property of the image layout, not of the env).
    variables = var.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  # JSON platform and application logs into the log group above (moto ignores this block: covered
  # by the mocked `terraform test`, infra/tests/service.tftest.hcl).
  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  # Read by `deploy`: the alarms a canary bake watches (space-separated names).
  tags = {
    RolloutAlarms = join(" ", var.rollout_alarm_names)
  }

  lifecycle {
    # The image is the deploy command's: it updates it and smoke-tests a published version before
    # any traffic moves.
    ignore_changes = [image_uri]

    precondition {
      condition     = var.timeout_seconds < 29
      error_message = "The Lambda timeout must stay below API Gateway's 29 s integration limit."
    }

    precondition {
      condition     = var.reserved_concurrency == null || try(var.reserved_concurrency <= data.aws_servicequotas_service_quota.concurrency[0].value - 100, false)
      error_message = "lambda_reserved_concurrency = ${coalesce(var.reserved_concurrency, 0)} does not fit this account: its concurrency quota is ${try(data.aws_servicequotas_service_quota.concurrency[0].value, "unknown")} and AWS keeps 100 executions unreserved (minus what other functions reserve). Set lambda_reserved_concurrency = null, or request a higher 'Concurrent executions' quota (Service Quotas, L-B99A9384) first."
    }

    precondition {
      condition     = length(join(" ", var.rollout_alarm_names)) <= 256
      error_message = "The RolloutAlarms tag is limited to 256 characters: shorten the project name."
    }
  }

  depends_on = [aws_iam_role_policy.execution]
}

resource "aws_lambda_alias" "live" {
  name             = var.alias_name
  description      = "Traffic alias: API Gateway invokes only this; `deploy` shifts it (canary weights, then 100%) after a smoke test."
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version

  lifecycle {
    # The versions the alias routes to are the deploy command's (canary, promotion, rollback).
    ignore_changes = [function_version, routing_config]
  }
}

resource "aws_lambda_provisioned_concurrency_config" "live" {
  count = var.provisioned_concurrency > 0 ? 1 : 0

  function_name                     = aws_lambda_function.this.function_name
  qualifier                         = aws_lambda_alias.live.name
  provisioned_concurrent_executions = var.provisioned_concurrency

  lifecycle {
    precondition {
      condition     = var.reserved_concurrency == null || var.provisioned_concurrency <= coalesce(var.reserved_concurrency, 0)
      error_message = "provisioned_concurrency cannot exceed reserved_concurrency."
    }

    precondition {
      condition     = var.reserved_concurrency != null || try(var.provisioned_concurrency <= data.aws_servicequotas_service_quota.concurrency[0].value - 100, false)
      error_message = "lambda_provisioned_concurrency = ${var.provisioned_concurrency} does not fit this account: its concurrency quota is ${try(data.aws_servicequotas_service_quota.concurrency[0].value, "unknown")} and AWS keeps 100 executions unreserved. Set lambda_provisioned_concurrency = 0, or request a higher 'Concurrent executions' quota (Service Quotas, L-B99A9384) first."
    }
  }
}
