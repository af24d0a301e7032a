# One CloudWatch dashboard per environment: the API as clients see it, the function as Lambda runs
# it, cold starts, and the model's own behaviour (EMF metrics from the function, issue 11).
#
# Cold starts: Lambda Insights is not used (an extension layer, which an image function would have
# to bake in), and there is no "cold start" metric. Each cold start writes one platform REPORT
# record with an init duration to the function's log group, so a Logs Insights widget counts them
# and shows their init time. The function logs in JSON (platform.report records with
# record.metrics.initDurationMs); @initDuration is the text-format field, kept as a fallback.

locals {
  api  = { ApiName = var.api_name, Stage = var.stage_name }
  live = "${var.function_name}:${var.alias_name}"
  ns   = var.metrics_namespace

  band_low  = tonumber(format("%.4f", var.delay_rate_band.reference - var.delay_rate_band.tolerance))
  band_high = tonumber(format("%.4f", var.delay_rate_band.reference + var.delay_rate_band.tolerance))

  cold_start_query = join(" | ", [
    "SOURCE '${var.log_group_name}'",
    "fields coalesce(record.metrics.initDurationMs, @initDuration) as init_ms",
    "filter (type = 'platform.report' or @type = 'REPORT') and ispresent(init_ms)",
    "stats count(*) as cold_starts, avg(init_ms) as avg_init_ms, max(init_ms) as max_init_ms by bin(5m)",
  ])

  widgets = [
    { title = "API requests", stat = "Sum", metrics = [
      ["AWS/ApiGateway", "Count", "ApiName", var.api_name, "Stage", var.stage_name, { label = "requests" }],
    ] },
    { title = "API 4XX / 5XX", stat = "Sum", metrics = [
      ["AWS/ApiGateway", "4XXError", "ApiName", var.api_name, "Stage", var.stage_name, { label = "4XX" }],
      ["AWS/ApiGateway", "5XXError", "ApiName", var.api_name, "Stage", var.stage_name, { label = "5XX" }],
    ] },
    { title = "API latency p50 / p99 (ms)", stat = "p50", metrics = [
      ["AWS/ApiGateway", "Latency", "ApiName", var.api_name, "Stage", var.stage_name, { stat = "p50", label = "p50" }],
      ["AWS/ApiGateway", "Latency", "ApiName", var.api_name, "Stage", var.stage_name, { stat = "p99", label = "p99" }],
      ["AWS/ApiGateway", "IntegrationLatency", "ApiName", var.api_name, "Stage", var.stage_name, { stat = "p99", label = "integration p99" }],
    ] },
    { title = "Lambda invocations, errors, throttles (alias ${var.alias_name})", stat = "Sum", metrics = [
      ["AWS/Lambda", "Invocations", "FunctionName", var.function_name, "Resource", local.live, { label = "invocations" }],
      ["AWS/Lambda", "Errors", "FunctionName", var.function_name, "Resource", local.live, { label = "errors" }],
      ["AWS/Lambda", "Throttles", "FunctionName", var.function_name, "Resource", local.live, { label = "throttles" }],
    ] },
    { title = "Lambda duration p50 / p99 (ms)", stat = "p50", metrics = [
      ["AWS/Lambda", "Duration", "FunctionName", var.function_name, "Resource", local.live, { stat = "p50", label = "p50" }],
      ["AWS/Lambda", "Duration", "FunctionName", var.function_name, "Resource", local.live, { stat = "p99", label = "p99" }],
    ] },
    { title = "Lambda concurrency", stat = "Maximum", metrics = [
      ["AWS/Lambda", "ConcurrentExecutions", "FunctionName", var.function_name, { label = "concurrent executions" }],
      ["AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations", "FunctionName", var.function_name, "Resource", local.live, { stat = "Sum", label = "provisioned spillover" }],
    ] },
    { title = "Requests and rejected requests by code (model service)", stat = "Sum", metrics = [
      [local.ns, "Requests", "Stage", var.stage_name, { label = "requests" }],
      [{ expression = "SEARCH('{${local.ns},Stage,code} MetricName=\"RejectedRequests\" Stage=\"${var.stage_name}\"', 'Sum', 300)", id = "rejected", label = "" }],
    ] },
    { title = "Predictions by model", stat = "Sum", metrics = [
      [{ expression = "SEARCH('{${local.ns},Model,Stage} MetricName=\"Predictions\" Stage=\"${var.stage_name}\"', 'Sum', 300)", id = "predictions", label = "" }],
    ] },
    { title = "Predicted delay rate (band: ${local.band_low}..${local.band_high})", stat = "Average", annotations = { horizontal = [
      { label = "band low", value = local.band_low },
      { label = "band high", value = local.band_high },
      ] }, metrics = [
      [{ expression = "SEARCH('{${local.ns},Model,Stage} MetricName=\"PredictedDelayRate\" Stage=\"${var.stage_name}\"', 'Average', 300)", id = "rate", label = "" }],
    ] },
    { title = "Mean delay probability", stat = "Average", metrics = [
      [{ expression = "SEARCH('{${local.ns},Model,Stage} MetricName=\"MeanDelayProbability\" Stage=\"${var.stage_name}\"', 'Average', 300)", id = "mean_p", label = "" }],
    ] },
    { title = "Model latency p50 / p99 (ms)", stat = "p99", metrics = [
      [{ expression = "SEARCH('{${local.ns},Model,Stage} MetricName=\"ModelLatency\" Stage=\"${var.stage_name}\"', 'p50', 300)", id = "p50", label = "p50" }],
      [{ expression = "SEARCH('{${local.ns},Model,Stage} MetricName=\"ModelLatency\" Stage=\"${var.stage_name}\"', 'p99', 300)", id = "p99", label = "p99" }],
    ] },
  ]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = concat(
      [for index, widget in local.widgets : {
        type   = "metric"
        x      = (index % 3) * 8
        y      = floor(index / 3) * 6
        width  = 8
        height = 6
        properties = merge({
          title   = widget.title
          region  = var.region
          stat    = widget.stat
          period  = 300
          view    = "timeSeries"
          stacked = false
          metrics = widget.metrics
        }, contains(keys(widget), "annotations") ? { annotations = widget.annotations } : {})
      }],
      [{
        type   = "log"
        x      = 0
        y      = ceil(length(local.widgets) / 3) * 6
        width  = 24
        height = 6
        properties = {
          title  = "Cold starts (platform REPORT records with an init duration)"
          region = var.region
          view   = "table"
          query  = local.cold_start_query
        }
      }],
    )
  })
}
