# Reported actual departures (issue 12): the live context of the nowcast model.
#
# Items: pk = "<airline>#<flight_number>", sk = scheduled departure (ISO 8601), plus day
# (YYYY-MM-DD) and actual (ISO 8601) for the by_day index that answers "departures of one day in a
# time window", and expires_at (epoch seconds) after which DynamoDB's TTL deletes the item.

resource "aws_dynamodb_table" "departures" {
  #checkov:skip=CKV_AWS_119:Encrypted at rest with the AWS-owned key (server_side_encryption below with no CMK): the table holds public flight-schedule facts, so a customer-managed KMS key would add cost and key-policy coupling without reducing risk.
  name         = "${var.name}-departures"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "day"
    type = "S"
  }

  attribute {
    name = "actual"
    type = "S"
  }

  global_secondary_index {
    name            = "by_day"
    hash_key        = "day"
    range_key       = "actual"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  deletion_protection_enabled = var.deletion_protection
}

# The operations feed signs POST /departures (SigV4) with this role, in addition to its API key.
data "aws_iam_policy_document" "ingest_trust" {
  count = length(var.ingest_principals) > 0 ? 1 : 0

  statement {
    sid     = "OperationsFeed"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = var.ingest_principals
    }
  }
}

# With no principal configured the role trusts nobody (a trust policy cannot be empty).
data "aws_iam_policy_document" "nobody" {
  statement {
    sid     = "NoPrincipalConfigured"
    effect  = "Deny"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = ["*"]
    }
  }
}

resource "aws_iam_role" "ingest" {
  name                 = "${var.name}-departures-ingest"
  description          = "Signs POST /departures of ${var.name} (operations feed); nothing else."
  assume_role_policy   = length(var.ingest_principals) > 0 ? data.aws_iam_policy_document.ingest_trust[0].json : data.aws_iam_policy_document.nobody.json
  max_session_duration = 3600
}

locals {
  # execute-api resource ARNs: <api execution arn>/<stage>/<METHOD>/<path with parameters as *>.
  ingest_arns = [
    for route in var.ingest_routes : "${var.api_execution_arn_stage}/${route.method}${replace(route.path, "/\\{[^}]+\\}/", "*")}"
  ]
}

data "aws_iam_policy_document" "ingest" {
  count = length(local.ingest_arns) > 0 ? 1 : 0

  statement {
    sid       = "InvokeIngestRoutesOfThisStage"
    actions   = ["execute-api:Invoke"]
    resources = local.ingest_arns
  }
}

resource "aws_iam_role_policy" "ingest" {
  count = length(local.ingest_arns) > 0 ? 1 : 0

  name   = "${var.name}-departures-ingest"
  role   = aws_iam_role.ingest.id
  policy = data.aws_iam_policy_document.ingest[0].json
}
