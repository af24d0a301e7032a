# The signals that page someone, every one with the environment's SNS topic as its action (issue
# 10, defect 5: prd alarms used to have none). Four of them are also the canary's rollout gates
# (the function's RolloutAlarms tag): the function raises, is throttled, is slow (p99 duration),
# and clients get 5XX. Thresholds come from the root's per-environment variables.

resource "aws_sns_topic" "alarms" {
  #checkov:skip=CKV_AWS_26:Alarm notifications carry alarm names, states and thresholds, no data; SNS's AWS-managed key would forbid CloudWatch from publishing (its key policy cannot be changed) and a customer-managed key adds a key policy for no protected content.
  name = "${var.name}-alarms"
}

data "aws_iam_policy_document" "topic" {
  statement {
    sid       = "CloudWatchAlarmsOfThisAccount"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.alarms.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:cloudwatch:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:alarm:${var.name}-*"]
    }
  }
}

data "aws_partition" "current" {}

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

resource "aws_sns_topic_policy" "alarms" {
  arn    = aws_sns_topic.alarms.arn
  policy = data.aws_iam_policy_document.topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_email_addresses)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

locals {
  actions = [aws_sns_topic.alarms.arn]
  # Formatted: 0.34 - 0.15 is 0.19000000000000003 in floating point.
  band_low  = format("%.4f", var.delay_rate_band.reference - var.delay_rate_band.tolerance)
  band_high = format("%.4f", var.delay_rate_band.reference + var.delay_rate_band.tolerance)
  api_dimensions = {
    ApiName = var.api_name
    Stage   = var.stage_name
  }
  lambda_dimensions = {
    FunctionName = var.function_name
    Resource     = "${var.function_name}:${var.alias_name}"
  }

  # One-minute periods where the alarm gates a canary: a 5-minute bake must be able to see it.
  alarms = {
    api-5xx-rate = {
      description = "More than ${var.error_rate_threshold * 100}% of requests answered 5XX (the handler never answers 5XX to a client error). Rollout gate."
      namespace   = "AWS/ApiGateway"
      metric      = "5XXError"
      dimensions  = local.api_dimensions
      statistic   = "Average"
      percentile  = null
      threshold   = var.error_rate_threshold
      period      = 60
      periods     = 2
    }
    api-latency-p99 = {
      description = "p99 end-to-end latency above ${var.latency_p99_ms} ms."
      namespace   = "AWS/ApiGateway"
      metric      = "Latency"
      dimensions  = local.api_dimensions
      statistic   = null
      percentile  = "p99"
      threshold   = var.latency_p99_ms
      period      = 300
      periods     = 2
    }
    lambda-throttles = {
      description = "The live alias was throttled: concurrency (reserved, or the account's) is too low for the traffic. Rollout gate."
      namespace   = "AWS/Lambda"
      metric      = "Throttles"
      dimensions  = local.lambda_dimensions
      statistic   = "Sum"
      percentile  = null
      threshold   = var.throttles_threshold
      period      = 60
      periods     = 1
    }
    lambda-errors = {
      description = "The live alias raised (unhandled errors, timeouts, out-of-memory). Rollout gate."
      namespace   = "AWS/Lambda"
      metric      = "Errors"
      dimensions  = local.lambda_dimensions
      statistic   = "Sum"
      percentile  = null
      threshold   = var.lambda_errors_threshold
      period      = 60
      periods     = 1
    }
    lambda-duration-p99 = {
      description = "p99 duration of the live alias above ${var.duration_p99_ms} ms. Rollout gate."
      namespace   = "AWS/Lambda"
      metric      = "Duration"
      dimensions  = local.lambda_dimensions
      statistic   = null
      percentile  = "p99"
      threshold   = var.duration_p99_ms
      period      = 60
      periods     = 3
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each = local.alarms

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  extended_statistic  = each.value.percentile
  period              = each.value.period
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.periods
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
}

# The model's behaviour (issue 11): the share of flights the delay model flags, PredictedDelayRate,
# leaving a static band around its training-time value for `periods` hours in a row. Static rather
# than anomaly detection: an anomaly band learns from recent traffic, so a slow drift becomes the
# new normal, and it needs weeks of history before it alarms at all; the band here is anchored to
# the reference the model was validated on. Hours with fewer than min_predictions predictions do
# not count (a rate of 2 flights says nothing).
resource "aws_cloudwatch_metric_alarm" "delay_rate_band" {
  alarm_name          = "${var.name}-delay-rate-out-of-band"
  alarm_description   = "PredictedDelayRate (Model=delay) outside ${var.delay_rate_band.reference} ± ${var.delay_rate_band.tolerance} for ${var.delay_rate_band.periods} hours: inputs or the model drifted (run the monitor report)."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = var.delay_rate_band.periods
  datapoints_to_alarm = var.delay_rate_band.periods
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  metric_query {
    id          = "out_of_band"
    label       = "1 when the delay rate is outside its band (with enough predictions)"
    return_data = true
    expression  = "IF(predictions >= ${var.delay_rate_band.min_predictions} AND (rate < ${local.band_low} OR rate > ${local.band_high}), 1, 0)"
  }

  metric_query {
    id = "rate"
    metric {
      namespace   = var.metrics_namespace
      metric_name = "PredictedDelayRate"
      dimensions  = { Stage = var.stage_name, Model = "delay" }
      period      = 3600
      stat        = "Average"
    }
  }

  metric_query {
    id = "predictions"
    metric {
      namespace   = var.metrics_namespace
      metric_name = "Predictions"
      dimensions  = { Stage = var.stage_name, Model = "delay" }
      period      = 3600
      stat        = "Sum"
    }
  }
}
