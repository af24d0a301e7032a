# Prediction capture (issue 11): the function prints one JSON line per captured prediction, with
# "kind": "prediction_capture", to stdout, i.e. to its own log group. A subscription filter selects
# exactly those lines and hands them to a Firehose stream, which unpacks the CloudWatch Logs
# envelope (gzip + JSON batch) back into the original lines and writes them to S3 partitioned by
# model and date: captures/model=<model>/date=<YYYY-MM-DD>/..., newline-delimited JSON, what
# `python -m challenge_neuralworks monitor --captures s3://<bucket>/captures/model=<m>/` reads.
#
# Why the function's own log group and not a second one: writing to another log group would mean
# PutLogEvents calls from the handler (boto3 in the image, a network call per batch, its latency
# and failure modes on the request path). stdout is free, asynchronous and already shipped by
# Lambda; the subscription filter's JSON pattern separates captures from every other line.

locals {
  bucket_name     = "${var.name}-captures-${var.account_id}-${var.region}"
  stream_name     = "${var.name}-captures"
  firehose_log    = "/aws/kinesisfirehose/${local.stream_name}"
  capture_prefix  = "captures/model=!{partitionKeyFromQuery:model}/date=!{partitionKeyFromQuery:date}/"
  error_prefix    = "errors/!{firehose:error-output-type}/date=!{timestamp:yyyy-MM-dd}/"
  partition_query = "{model: .model, date: .time[0:10]}"
  capture_pattern = "{ $.kind = \"prediction_capture\" }"
}

data "aws_partition" "current" {}

# --- the bucket -----------------------------------------------------------------------------

resource "aws_s3_bucket" "captures" {
  #checkov:skip=CKV_AWS_144:Captured predictions are a sample of public flight-schedule requests, re-creatable by replaying traffic; cross-region replication would double storage for data with a 90-day life.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) encrypts at rest; a customer-managed KMS key would add a key policy and per-request KMS cost for data that holds no personal or secret field.
  #checkov:skip=CKV_AWS_18:Server access logging would need a second bucket whose own logs go nowhere; CloudTrail data events are the audit trail if one is ever needed, and the only writer is Firehose's role.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object-created events: the weekly monitor job lists the prefix of the last week.
  bucket = local.bucket_name

  # Captures are data: `terraform destroy` must not delete them silently (empty the bucket first).
  force_destroy = false
}

resource "aws_s3_bucket_public_access_block" "captures" {
  bucket                  = aws_s3_bucket.captures.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "captures" {
  bucket = aws_s3_bucket.captures.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "captures" {
  bucket = aws_s3_bucket.captures.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

# Versioning on: Firehose never overwrites an object, so it costs nothing in normal operation, and
# an accidental or malicious overwrite or delete stays recoverable for a week.
resource "aws_s3_bucket_versioning" "captures" {
  bucket = aws_s3_bucket.captures.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "captures" {
  bucket = aws_s3_bucket.captures.id

  rule {
    id     = "expire-captures-and-errors"
    status = "Enabled"
    filter {}

    expiration {
      days = var.expiry_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 7
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.captures]
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid     = "TlsOnly"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.captures.arn,
      "${aws_s3_bucket.captures.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "captures" {
  bucket = aws_s3_bucket.captures.id
  policy = data.aws_iam_policy_document.bucket.json

  depends_on = [aws_s3_bucket_public_access_block.captures]
}

# --- Firehose -> S3 -------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "firehose" {
  #checkov:skip=CKV_AWS_158:Firehose's delivery-error log holds error messages and object keys, no captured data; CloudWatch Logs already encrypts at rest.
  # Retention below checkov's one-year floor (CKV_AWS_338) on purpose: it is the environment's validated log retention; delivery errors are acted on within days.
  name              = local.firehose_log
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_stream" "firehose" {
  name           = "S3Delivery"
  log_group_name = aws_cloudwatch_log_group.firehose.name
}

data "aws_iam_policy_document" "firehose_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["firehose.amazonaws.com"]
    }
    # Firehose passes the account id as the external id (confused-deputy protection).
    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.account_id]
    }
  }
}

resource "aws_iam_role" "firehose" {
  name                 = "${var.name}-captures-firehose"
  description          = "Lets the capture stream of ${var.name} write to its bucket and its error log."
  assume_role_policy   = data.aws_iam_policy_document.firehose_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "firehose" {
  statement {
    sid = "WriteTheCaptureBucket"
    actions = [
      "s3:AbortMultipartUpload",
      "s3:GetBucketLocation",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:ListBucketMultipartUploads",
      "s3:PutObject",
    ]
    resources = [aws_s3_bucket.captures.arn, "${aws_s3_bucket.captures.arn}/*"]
  }

  statement {
    sid       = "DeliveryErrorLog"
    actions   = ["logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.firehose.arn}:log-stream:*"]
  }
}

resource "aws_iam_role_policy" "firehose" {
  name   = "${var.name}-captures-firehose"
  role   = aws_iam_role.firehose.id
  policy = data.aws_iam_policy_document.firehose.json
}

resource "aws_kinesis_firehose_delivery_stream" "captures" {
  #checkov:skip=CKV_AWS_241:Records are encrypted at rest with an AWS-owned key (server_side_encryption below); captures hold public flight-schedule requests and scores, so a customer-managed KMS key would add key policy and per-request cost without reducing risk.
  name        = local.stream_name
  destination = "extended_s3"

  server_side_encryption {
    enabled  = true
    key_type = "AWS_OWNED_CMK"
  }

  extended_s3_configuration {
    role_arn   = aws_iam_role.firehose.arn
    bucket_arn = aws_s3_bucket.captures.arn
    # Dynamic partitioning needs a buffer of at least 64 MB; the interval bounds the delay (5 min).
    buffering_size      = 64
    buffering_interval  = 300
    compression_format  = "UNCOMPRESSED"
    file_extension      = ".jsonl"
    prefix              = local.capture_prefix
    error_output_prefix = local.error_prefix

    dynamic_partitioning_configuration {
      enabled        = true
      retry_duration = 300
    }

    processing_configuration {
      enabled = true

      # CloudWatch Logs delivers gzip-compressed JSON envelopes of many log events.
      processors {
        type = "Decompression"
        parameters {
          parameter_name  = "CompressionFormat"
          parameter_value = "GZIP"
        }
      }

      # ...unpacked back into the log events' messages: the capture lines as the function wrote them.
      processors {
        type = "CloudWatchLogProcessing"
        parameters {
          parameter_name  = "DataMessageExtraction"
          parameter_value = "true"
        }
      }

      # Partition keys from each line: its model and the date of its "time" (ISO 8601 UTC).
      processors {
        type = "MetadataExtraction"
        parameters {
          parameter_name  = "MetadataExtractionQuery"
          parameter_value = local.partition_query
        }
        parameters {
          parameter_name  = "JsonParsingEngine"
          parameter_value = "JQ-1.6"
        }
      }

      # One line per record in the objects (newline-delimited JSON).
      processors {
        type = "AppendDelimiterToRecord"
      }
    }

    cloudwatch_logging_options {
      enabled         = true
      log_group_name  = aws_cloudwatch_log_group.firehose.name
      log_stream_name = aws_cloudwatch_log_stream.firehose.name
    }
  }

  depends_on = [aws_iam_role_policy.firehose]
}

# --- the function's log group -> Firehose -----------------------------------------------------

data "aws_iam_policy_document" "logs_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["logs.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.region}:${var.account_id}:*"]
    }
  }
}

resource "aws_iam_role" "logs" {
  name                 = "${var.name}-captures-logs"
  description          = "Lets CloudWatch Logs put the capture lines of ${var.name} into their Firehose stream."
  assume_role_policy   = data.aws_iam_policy_document.logs_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid       = "PutIntoTheCaptureStream"
    actions   = ["firehose:PutRecord", "firehose:PutRecordBatch"]
    resources = [aws_kinesis_firehose_delivery_stream.captures.arn]
  }
}

resource "aws_iam_role_policy" "logs" {
  name   = "${var.name}-captures-logs"
  role   = aws_iam_role.logs.id
  policy = data.aws_iam_policy_document.logs.json
}

resource "aws_cloudwatch_log_subscription_filter" "captures" {
  name            = "${var.name}-prediction-captures"
  log_group_name  = var.log_group_name
  filter_pattern  = local.capture_pattern
  destination_arn = aws_kinesis_firehose_delivery_stream.captures.arn
  role_arn        = aws_iam_role.logs.arn

  depends_on = [aws_iam_role_policy.logs]
}
