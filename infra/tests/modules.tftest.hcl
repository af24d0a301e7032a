# Each module on its own, with the mocked AWS provider (no credentials, no network): the
# properties that matter and that moto cannot show (Lambda logging_config, provisioned
# concurrency, quota preconditions, Firehose processors). Run by tests/infra/test_terraform.py:
#   terraform test -filter=tests/modules.tftest.hcl

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  routes_fixture = "routes.json"
}

# --- API Gateway: built from the routes file --------------------------------------------------

run "api_methods_are_the_routes_plus_any_each_with_a_key" {
  module {
    source = "./modules/api_gateway"
  }

  variables {
    name                    = "cnw-test"
    stage_name              = "test"
    routes                  = jsondecode(file(var.routes_fixture)).routes
    lambda_function_name    = "cnw-test"
    lambda_alias_name       = "live"
    lambda_alias_invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:cnw-test:live/invocations"
    stage_throttle          = { rate_limit = 10, burst_limit = 20 }
    usage_plans             = { smoke = { description = "smoke", rate_limit = 1, burst_limit = 2, quota_limit = 10, quota_period = "DAY" } }
    api_keys                = { ci-smoke = { description = "smoke", usage_plan = "smoke" } }
    log_retention_days      = 14
  }

  assert {
    condition = toset(keys(aws_api_gateway_method.this)) == toset(concat(
      [for route in jsondecode(file(var.routes_fixture)).routes : "${route.method} ${route.path}"],
      [for path in distinct([for route in jsondecode(file(var.routes_fixture)).routes : route.path]) : "ANY ${path}"],
    ))
    error_message = "The methods must be exactly the routes file's routes plus one ANY per resource: ${jsonencode(keys(aws_api_gateway_method.this))}"
  }

  assert {
    condition     = toset(keys(aws_api_gateway_resource.level1)) == toset(["/health", "/models", "/inference", "/departures"]) && toset(keys(aws_api_gateway_resource.level2)) == toset(["/models/{model_name}", "/inference/{model_name}"]) && length(aws_api_gateway_resource.level3) == 0
    error_message = "Resources must be every prefix of every route, by depth."
  }

  assert {
    condition     = aws_api_gateway_resource.level2["/inference/{model_name}"].path_part == "{model_name}" && aws_api_gateway_resource.level2["/inference/{model_name}"].parent_id == aws_api_gateway_resource.level1["/inference"].id
    error_message = "/inference/{model_name} must hang below /inference."
  }

  assert {
    condition     = alltrue([for method in aws_api_gateway_method.this : method.api_key_required])
    error_message = "Every method must require an API key."
  }

  assert {
    condition     = aws_api_gateway_method.this["POST /departures"].authorization == "AWS_IAM" && aws_api_gateway_method.this["ANY /departures"].authorization == "AWS_IAM"
    error_message = "AWS_IAM routes (and the ANY of their resource) must require a SigV4 signature."
  }

  assert {
    condition     = alltrue([for key, method in aws_api_gateway_method.this : method.authorization == "NONE" if !endswith(key, "/departures")])
    error_message = "API_KEY routes use the key alone (authorization NONE)."
  }

  assert {
    condition     = aws_api_gateway_method.this["POST /inference/{model_name}"].request_parameters == tomap({ "method.request.path.model_name" = true }) && length(coalesce(aws_api_gateway_method.this["GET /health"].request_parameters, {})) == 0
    error_message = "Path parameters (only they) are required by the parameter validator."
  }

  assert {
    condition     = alltrue([for integration in aws_api_gateway_integration.this : integration.type == "AWS_PROXY" && integration.integration_http_method == "POST" && integration.uri == var.lambda_alias_invoke_arn])
    error_message = "Every integration is a Lambda proxy to the alias' invoke ARN (never the unqualified function)."
  }

  assert {
    condition     = aws_lambda_permission.api.qualifier == "live" && aws_lambda_permission.api.source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/test/*/*"
    error_message = "Only this API's stage may invoke, and only the alias."
  }

  assert {
    condition     = aws_cloudwatch_log_group.execution.name == "API-Gateway-Execution-Logs_a1b2c3d4e5/test" && aws_cloudwatch_log_group.execution.retention_in_days == 14 && aws_cloudwatch_log_group.access.retention_in_days == 14
    error_message = "Terraform owns the execution log group API Gateway would create without retention, and the access log group."
  }

  assert {
    condition     = aws_api_gateway_request_validator.parameters.validate_request_parameters && !aws_api_gateway_request_validator.parameters.validate_request_body
    error_message = "Parameters only: bodies are the handler's (one error shape)."
  }

  assert {
    condition     = aws_api_gateway_method_settings.all.settings[0].metrics_enabled && !aws_api_gateway_method_settings.all.settings[0].data_trace_enabled
    error_message = "Metrics on, data tracing (bodies in logs) off."
  }
}

run "a_route_deeper_than_three_segments_is_refused" {
  command = plan

  module {
    source = "./modules/api_gateway"
  }

  variables {
    name                    = "cnw-test"
    stage_name              = "test"
    routes                  = [{ method = "GET", path = "/a/b/c/d", name = "deep", authorization = "API_KEY" }]
    lambda_function_name    = "cnw-test"
    lambda_alias_name       = "live"
    lambda_alias_invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:cnw-test:live/invocations"
    stage_throttle          = { rate_limit = 10, burst_limit = 20 }
    usage_plans             = { smoke = { description = "smoke", rate_limit = 1, burst_limit = 2, quota_limit = 10, quota_period = "DAY" } }
    api_keys                = { ci-smoke = { description = "smoke", usage_plan = "smoke" } }
    log_retention_days      = 14
  }

  expect_failures = [var.routes]
}

# --- Lambda: concurrency, logging, environment ----------------------------------------------------

run "lambda_defaults_to_unreserved_concurrency_and_json_logs" {
  module {
    source = "./modules/lambda"
  }

  variables {
    name                  = "cnw-test"
    image_uri             = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cnw@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    memory_mb             = 1024
    timeout_seconds       = 10
    log_retention_days    = 14
    departures_table_arn  = "arn:aws:dynamodb:us-east-1:123456789012:table/cnw-test-departures"
    rollout_alarm_names   = ["cnw-test-lambda-errors", "cnw-test-api-5xx-rate"]
    environment_variables = { CNW_STAGE = "test" }
  }

  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == -1
    error_message = "No reservation by default (new accounts cannot reserve any)."
  }

  assert {
    condition     = length(data.aws_servicequotas_service_quota.concurrency) == 0 && length(aws_lambda_provisioned_concurrency_config.live) == 0
    error_message = "Without reservation or provisioned concurrency, the quota is not even read."
  }

  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_format == "JSON" && aws_lambda_function.this.logging_config[0].log_group == "/aws/lambda/cnw-test"
    error_message = "JSON logs into the Terraform-owned log group (moto drops logging_config: only this test covers it)."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 14
    error_message = "The function's log group has the retention."
  }

  assert {
    condition     = aws_lambda_function.this.tags["RolloutAlarms"] == "cnw-test-lambda-errors cnw-test-api-5xx-rate"
    error_message = "The function names the canary's alarms in its RolloutAlarms tag."
  }

  assert {
    condition     = aws_lambda_function.this.package_type == "Image" && aws_lambda_function.this.publish && aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "An image function that publishes a version for the alias, with active tracing."
  }

  assert {
    condition     = aws_lambda_alias.live.function_version == aws_lambda_function.this.version
    error_message = "The alias starts on the version created with the function."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.execution.statement : s.actions if s.sid == "DeparturesReadWrite"])) == toset([
      "dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem",
    ])
    error_message = "The function reads and writes departures, nothing more (no Scan, no Delete)."
  }

  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.execution.statement : s.resources if s.sid == "DeparturesReadWrite"])) == toset(["arn:aws:dynamodb:us-east-1:123456789012:table/cnw-test-departures", "arn:aws:dynamodb:us-east-1:123456789012:table/cnw-test-departures/index/*"])
    error_message = "DynamoDB access is scoped to the departures table and its indexes."
  }
}

run "a_reservation_above_the_account_quota_fails_with_a_clear_message" {
  command = plan

  module {
    source = "./modules/lambda"
  }

  override_data {
    target = data.aws_servicequotas_service_quota.concurrency[0]
    values = { value = 10 }
  }

  variables {
    name                  = "cnw-test"
    image_uri             = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cnw@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    memory_mb             = 1024
    timeout_seconds       = 10
    log_retention_days    = 14
    departures_table_arn  = "arn:aws:dynamodb:us-east-1:123456789012:table/cnw-test-departures"
    rollout_alarm_names   = ["cnw-test-lambda-errors"]
    environment_variables = {}
    reserved_concurrency  = 5
  }

  expect_failures = [aws_lambda_function.this]
}

run "a_reservation_that_fits_the_quota_is_kept" {
  command = plan

  module {
    source = "./modules/lambda"
  }

  variables {
    name                  = "cnw-test"
    image_uri             = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cnw@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    memory_mb             = 1024
    timeout_seconds       = 10
    log_retention_days    = 14
    departures_table_arn  = "arn:aws:dynamodb:us-east-1:123456789012:table/cnw-test-departures"
    rollout_alarm_names   = ["cnw-test-lambda-errors"]
    environment_variables = {}
    reserved_concurrency  = 50
  }

  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == 50
    error_message = "A reservation that leaves 100 unreserved executions is applied as asked."
  }
}

run "provisioned_concurrency_on_a_new_account_fails_with_a_clear_message" {
  command = plan

  module {
    source = "./modules/lambda"
  }

  override_data {
    target = data.aws_servicequotas_service_quota.concurrency[0]
    values = { value = 10 }
  }

  variables {
    name                    = "cnw-test"
    image_uri               = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cnw@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    memory_mb               = 1024
    timeout_seconds         = 10
    log_retention_days      = 14
    departures_table_arn    = "arn:aws:dynamodb:us-east-1:123456789012:table/cnw-test-departures"
    rollout_alarm_names     = ["cnw-test-lambda-errors"]
    environment_variables   = {}
    provisioned_concurrency = 1
  }

  expect_failures = [aws_lambda_provisioned_concurrency_config.live]
}

run "provisioned_concurrency_targets_the_alias" {
  module {
    source = "./modules/lambda"
  }

  variables {
    name                    = "cnw-test"
    image_uri               = "123456789012.dkr.ecr.us-east-1.amazonaws.com/cnw@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    memory_mb               = 1024
    timeout_seconds         = 10
    log_retention_days      = 14
    departures_table_arn    = "arn:aws:dynamodb:us-east-1:123456789012:table/cnw-test-departures"
    rollout_alarm_names     = ["cnw-test-lambda-errors"]
    environment_variables   = {}
    provisioned_concurrency = 2
  }

  assert {
    condition     = aws_lambda_provisioned_concurrency_config.live[0].qualifier == "live" && aws_lambda_provisioned_concurrency_config.live[0].provisioned_concurrent_executions == 2
    error_message = "Provisioned concurrency sits on the alias (the deploy command waits for it to be READY)."
  }
}

# --- capture: log group -> Firehose -> S3 ------------------------------------------------------

run "captured_predictions_reach_a_private_partitioned_bucket" {
  module {
    source = "./modules/capture"
  }

  variables {
    name               = "cnw-test"
    account_id         = "123456789012"
    region             = "us-east-1"
    log_group_name     = "/aws/lambda/cnw-test"
    expiry_days        = 90
    log_retention_days = 14
  }

  assert {
    condition     = aws_cloudwatch_log_subscription_filter.captures.filter_pattern == "{ $.kind = \"prediction_capture\" }" && aws_cloudwatch_log_subscription_filter.captures.log_group_name == "/aws/lambda/cnw-test"
    error_message = "The subscription filter selects exactly the capture lines of the function's log group."
  }

  assert {
    condition = [for p in aws_kinesis_firehose_delivery_stream.captures.extended_s3_configuration[0].processing_configuration[0].processors : p.type] == [
      "Decompression", "CloudWatchLogProcessing", "MetadataExtraction", "AppendDelimiterToRecord",
    ]
    error_message = "Firehose unpacks the CloudWatch Logs envelope, extracts the messages, partitions, and writes one line per record."
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.captures.extended_s3_configuration[0].prefix == "captures/model=!{partitionKeyFromQuery:model}/date=!{partitionKeyFromQuery:date}/" && aws_kinesis_firehose_delivery_stream.captures.extended_s3_configuration[0].dynamic_partitioning_configuration[0].enabled
    error_message = "Objects are partitioned by model and date."
  }

  assert {
    condition     = startswith(aws_kinesis_firehose_delivery_stream.captures.extended_s3_configuration[0].error_output_prefix, "errors/") && aws_kinesis_firehose_delivery_stream.captures.extended_s3_configuration[0].buffering_size >= 64
    error_message = "Failed records go to errors/; dynamic partitioning needs a 64 MB buffer."
  }

  assert {
    condition     = contains([for p in aws_kinesis_firehose_delivery_stream.captures.extended_s3_configuration[0].processing_configuration[0].processors[2].parameters : p.parameter_value], "{model: .model, date: .time[0:10]}")
    error_message = "Partition keys come from each line's model and the date part of its time."
  }

  assert {
    condition     = aws_s3_bucket_public_access_block.captures.block_public_acls && aws_s3_bucket_public_access_block.captures.block_public_policy && aws_s3_bucket_public_access_block.captures.ignore_public_acls && aws_s3_bucket_public_access_block.captures.restrict_public_buckets
    error_message = "The capture bucket blocks every kind of public access."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.captures.rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "Captures are encrypted at rest."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.bucket.statement).effect == "Deny" && one(one(data.aws_iam_policy_document.bucket.statement).condition).variable == "aws:SecureTransport"
    error_message = "The bucket policy refuses every request without TLS."
  }

  assert {
    condition     = one(aws_s3_bucket_lifecycle_configuration.captures.rule).expiration[0].days == 90 && aws_s3_bucket_versioning.captures.versioning_configuration[0].status == "Enabled"
    error_message = "Captures expire after expiry_days; versioning keeps overwrites recoverable."
  }

  assert {
    condition     = aws_kinesis_firehose_delivery_stream.captures.server_side_encryption[0].enabled
    error_message = "The stream encrypts records at rest."
  }

  assert {
    condition     = toset(flatten([for s in data.aws_iam_policy_document.logs.statement : s.actions])) == toset(["firehose:PutRecord", "firehose:PutRecordBatch"])
    error_message = "CloudWatch Logs may only put records into the capture stream."
  }
}

# --- departures ---------------------------------------------------------------------------------

run "departures_table_and_an_ingest_role_for_the_iam_routes_only" {
  module {
    source = "./modules/departures"
  }

  variables {
    name                    = "cnw-test"
    api_execution_arn_stage = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/test"
    ingest_routes           = [for route in jsondecode(file(var.routes_fixture)).routes : route if route.authorization == "AWS_IAM"]
    ingest_principals       = ["arn:aws:iam::210987654321:role/ops-feed"]
  }

  assert {
    condition     = aws_dynamodb_table.departures.billing_mode == "PAY_PER_REQUEST" && aws_dynamodb_table.departures.hash_key == "pk" && aws_dynamodb_table.departures.range_key == "sk"
    error_message = "On-demand table keyed by pk (airline#flight) and sk (scheduled time)."
  }

  assert {
    condition     = one(aws_dynamodb_table.departures.global_secondary_index).name == "by_day" && one(aws_dynamodb_table.departures.global_secondary_index).hash_key == "day" && one(aws_dynamodb_table.departures.global_secondary_index).range_key == "actual"
    error_message = "Index by_day (day, actual) answers window queries."
  }

  assert {
    condition     = aws_dynamodb_table.departures.ttl[0].attribute_name == "expires_at" && aws_dynamodb_table.departures.ttl[0].enabled && aws_dynamodb_table.departures.point_in_time_recovery[0].enabled && aws_dynamodb_table.departures.server_side_encryption[0].enabled
    error_message = "TTL on expires_at, point-in-time recovery and encryption at rest."
  }

  assert {
    condition     = local.ingest_arns == ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/test/POST/departures"]
    error_message = "The ingest role may invoke POST /departures of this stage only."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.ingest_trust) == 1 && one(one(data.aws_iam_policy_document.ingest_trust[0].statement).principals).identifiers == toset(["arn:aws:iam::210987654321:role/ops-feed"])
    error_message = "Only the configured principals may assume the ingest role."
  }
}

run "with_no_ingest_principal_the_role_trusts_nobody" {
  module {
    source = "./modules/departures"
  }

  variables {
    name                    = "cnw-test"
    api_execution_arn_stage = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/test"
    ingest_routes           = []
  }

  assert {
    condition     = length(data.aws_iam_policy_document.ingest_trust) == 0 && one(data.aws_iam_policy_document.nobody.statement).effect == "Deny" && length(aws_iam_role_policy.ingest) == 0
    error_message = "Without principals the trust policy denies everyone; without IAM routes there is no invoke permission."
  }
}

# --- alarms ---------------------------------------------------------------------------------

run "every_alarm_notifies_the_environment_topic" {
  module {
    source = "./modules/alarms"
  }

  variables {
    name                  = "cnw-test"
    api_name              = "cnw-test"
    stage_name            = "test"
    function_name         = "cnw-test"
    alias_name            = "live"
    alarm_email_addresses = ["oncall@example.com"]
    error_rate_threshold  = 0.01
    latency_p99_ms        = 1000
    duration_p99_ms       = 800
    metrics_namespace     = "challenge_neuralworks"
    delay_rate_band       = { reference = 0.34, tolerance = 0.15, periods = 3, min_predictions = 20 }
  }

  assert {
    condition     = alltrue([for alarm in aws_cloudwatch_metric_alarm.this : alarm.alarm_actions == toset([aws_sns_topic.alarms.arn]) && alarm.ok_actions == toset([aws_sns_topic.alarms.arn])]) && aws_cloudwatch_metric_alarm.delay_rate_band.alarm_actions == toset([aws_sns_topic.alarms.arn])
    error_message = "Every alarm (ALARM and OK) notifies the environment's topic."
  }

  assert {
    condition     = aws_sns_topic_subscription.email["oncall@example.com"].protocol == "email"
    error_message = "Configured addresses are subscribed by e-mail."
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.this)) == toset(["api-5xx-rate", "api-latency-p99", "lambda-throttles", "lambda-errors", "lambda-duration-p99"])
    error_message = "5XX rate, API p99, throttles, errors and function p99 are all watched."
  }

  assert {
    condition     = alltrue([for key in ["api-5xx-rate", "lambda-throttles", "lambda-errors", "lambda-duration-p99"] : aws_cloudwatch_metric_alarm.this[key].period == 60])
    error_message = "Rollout gates use one-minute periods so that a five-minute bake can see them."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.this["lambda-errors"].dimensions == tomap({ FunctionName = "cnw-test", Resource = "cnw-test:live" })
    error_message = "Lambda alarms watch the live alias."
  }

  assert {
    condition     = one([for q in aws_cloudwatch_metric_alarm.delay_rate_band.metric_query : q if q.id == "out_of_band"]).expression == "IF(predictions >= 20 AND (rate < 0.1900 OR rate > 0.4900), 1, 0)" && aws_cloudwatch_metric_alarm.delay_rate_band.evaluation_periods == 3
    error_message = "The delay-rate alarm fires after three hours outside reference ± tolerance with enough predictions."
  }

  assert {
    condition     = one(one([for q in aws_cloudwatch_metric_alarm.delay_rate_band.metric_query : q if q.id == "rate"]).metric).dimensions == tomap({ Stage = "test", Model = "delay" })
    error_message = "The delay-rate alarm reads the EMF metric of Model=delay in this stage."
  }
}

run "the_dashboard_shows_api_lambda_cold_starts_and_model_metrics" {
  module {
    source = "./modules/dashboard"
  }

  variables {
    name              = "cnw-test"
    region            = "us-east-1"
    api_name          = "cnw-test"
    stage_name        = "test"
    function_name     = "cnw-test"
    alias_name        = "live"
    log_group_name    = "/aws/lambda/cnw-test"
    metrics_namespace = "challenge_neuralworks"
    delay_rate_band   = { reference = 0.34, tolerance = 0.15, periods = 3, min_predictions = 20 }
  }

  assert {
    condition = alltrue([for needle in [
      "\"5XXError\"", "\"4XXError\"", "\"Latency\"", "\"Throttles\"", "\"Duration\"", "initDurationMs",
      "MetricName=\\\"Predictions\\\"", "MetricName=\\\"PredictedDelayRate\\\"", "MetricName=\\\"MeanDelayProbability\\\"",
      "MetricName=\\\"ModelLatency\\\"", "MetricName=\\\"RejectedRequests\\\"", "\"Requests\"",
    ] : strcontains(aws_cloudwatch_dashboard.this.dashboard_body, needle)])
    error_message = "The dashboard must show requests, 4XX/5XX, latency, throttles, duration, cold starts and the model metrics."
  }

  assert {
    condition     = length(jsondecode(aws_cloudwatch_dashboard.this.dashboard_body).widgets) == 12
    error_message = "Eleven metric widgets and the cold-start query."
  }
}
