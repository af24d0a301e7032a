# REST API in front of the Lambda alias. Every method requires an API key; usage plans meter and
# throttle each key; the Lambda validates bodies so that every business error has one JSON shape.

# REST API in front of the Lambda alias, built from the routes file (infra/routes.json, generated
# from challenge_neuralworks/routes.py). Every method requires an API key; routes declared AWS_IAM
# also require a SigV4 signature; usage plans meter and throttle each key; the Lambda validates
# bodies so that every business error has one JSON shape.

locals {
  # "/models/{model_name}" -> ["models", "{model_name}"]; every prefix of every route is a resource.
  segments = { for route in var.routes : route.path => split("/", trimprefix(route.path, "/")) }
  prefixes = distinct(flatten([
    for path, parts in local.segments : [for depth in range(1, length(parts) + 1) : "/${join("/", slice(parts, 0, depth))}"]
  ]))
  resources = {
    for path in local.prefixes : path => {
      depth     = length(split("/", path)) - 1
      path_part = element(split("/", path), length(split("/", path)) - 1)
      parent    = join("/", slice(split("/", path), 0, length(split("/", path)) - 1))
    }
  }
  level1 = { for path, r in local.resources : path => r if r.depth == 1 }
  level2 = { for path, r in local.resources : path => r if r.depth == 2 }
  level3 = { for path, r in local.resources : path => r if r.depth == 3 }
  resource_ids = merge(
    { for path, r in aws_api_gateway_resource.level1 : path => r.id },
    { for path, r in aws_api_gateway_resource.level2 : path => r.id },
    { for path, r in aws_api_gateway_resource.level3 : path => r.id },
  )

  # Each declared route, plus one ANY per resource that has routes, so that a wrong verb reaches
  # the handler's JSON 405 instead of API Gateway's 403 "Missing Authentication Token". The ANY
  # method takes the strictest authorization of its resource's routes: a resource with an IAM route
  # tells unsigned callers nothing.
  route_paths = distinct([for route in var.routes : route.path])
  methods = merge(
    { for route in var.routes : "${route.method} ${route.path}" => {
      path          = route.path
      http_method   = route.method
      authorization = route.authorization
    } },
    { for path in local.route_paths : "ANY ${path}" => {
      path          = path
      http_method   = "ANY"
      authorization = anytrue([for route in var.routes : route.path == path && route.authorization == "AWS_IAM"]) ? "AWS_IAM" : "API_KEY"
    } if !contains([for route in var.routes : route.method if route.path == path], "ANY") },
  )

  # Parameters the request validator enforces before the Lambda is invoked (never the body). The
  # x-api-key header is deliberately not among them: api_key_required already answers a missing
  # key with 403 {"message": "Forbidden"}, and a required-header rule could only turn that into a
  # 400 if API Gateway ever evaluated it first.
  path_parameters = {
    for key, method in local.methods : key => {
      for name in regexall("\\{(\\w+)\\}", method.path) : "method.request.path.${name[0]}" => true
    }
  }

  # What a deployment snapshots, as configuration values only. Hashing whole resource objects
  # (the provider's example) redeploys on the second plan, because the provider normalises nulls to
  # empty values after the first apply (issue 10, defect 11).
  deployment_inputs = {
    methods         = local.methods
    path_parameters = local.path_parameters
    integration_uri = var.lambda_alias_invoke_arn
    integration     = { type = "AWS_PROXY", http_method = "POST", timeout_milliseconds = 29000 }
    validator       = { parameters = true, body = false }
  }
}

resource "aws_api_gateway_rest_api" "this" {
  name           = var.name
  description    = "SCL departure delay predictions (${var.stage_name})"
  api_key_source = "HEADER"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    # If the API ever has to be replaced, the new one exists before the old one goes.
    create_before_destroy = true
  }
}

# One resource per path prefix, one depth at a time (a resource's parent must exist first). Routes
# deeper than three segments are refused by the variable's validation.
resource "aws_api_gateway_resource" "level1" {
  for_each = local.level1

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = each.value.path_part
}

resource "aws_api_gateway_resource" "level2" {
  for_each = local.level2

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.level1[each.value.parent].id
  path_part   = each.value.path_part
}

resource "aws_api_gateway_resource" "level3" {
  for_each = local.level3

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.level2[each.value.parent].id
  path_part   = each.value.path_part
}

# Parameters only (the {model_name} path parameter): a body validator would answer API Gateway's own
# {"message": ...} shape, while the handler answers {"error": {"code", "message", "field",
# "allowed"}} for every invalid request.
resource "aws_api_gateway_request_validator" "parameters" {
  name                        = "${var.name}-parameters"
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  validate_request_parameters = true
  validate_request_body       = false
}

resource "aws_api_gateway_method" "this" {
  for_each = local.methods

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = local.resource_ids[each.value.path]
  http_method = each.value.http_method
  # API_KEY routes: the key alone ("NONE" is API Gateway's name for no authorizer); AWS_IAM routes:
  # a SigV4 signature from an allowed principal AND the key.
  authorization        = each.value.authorization == "AWS_IAM" ? "AWS_IAM" : "NONE"
  api_key_required     = true
  request_validator_id = aws_api_gateway_request_validator.parameters.id
  request_parameters   = local.path_parameters[each.key]
}

resource "aws_api_gateway_integration" "this" {
  for_each = aws_api_gateway_method.this

  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = each.value.resource_id
  http_method             = each.value.http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = var.lambda_alias_invoke_arn
  timeout_milliseconds    = 29000
}

# Only this API, only this stage, only the alias: nothing else may invoke the function through
# API Gateway.
resource "aws_lambda_permission" "api" {
  statement_id  = "AllowInvokeFrom-${var.name}-${var.stage_name}"
  action        = "lambda:InvokeFunction"
  function_name = var.lambda_function_name
  qualifier     = var.lambda_alias_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/${var.stage_name}/*/*"
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "Routes ${sha1(jsonencode(local.deployment_inputs))}"

  # A deployment is a snapshot: redeploy whenever a route, method, integration or validator changes.
  triggers = {
    redeployment = sha1(jsonencode(local.deployment_inputs))
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [aws_api_gateway_integration.this]
}

# API Gateway writes execution logs to this exact name and creates it on first use, with no
# retention, when it does not exist (issue 10, defect 8): Terraform creates it first, so it has a
# retention and goes with the stack.
resource "aws_cloudwatch_log_group" "execution" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs already encrypts at rest; execution logs at ERROR level hold request ids and error types of a public-data API (data tracing is off), so a customer-managed KMS key would add cost without reducing risk.
  # Retention below checkov's one-year floor (CKV_AWS_338) on purpose: it is a validated variable chosen per environment; a one-year floor would multiply storage cost for operational logs.
  name              = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs already encrypts at rest; access logs hold request ids, source IPs and status codes of a public-data API, so a customer-managed KMS key would add cost without reducing risk.
  # Retention below checkov's one-year floor (CKV_AWS_338) on purpose: it is a validated variable chosen per environment; a one-year floor would multiply storage cost for operational logs.
  name              = "/aws/apigateway/${var.name}/${var.stage_name}/access"
  retention_in_days = var.log_retention_days
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Caching is off on purpose: answers depend on the request body (POST), the cache keys on path/query only and would cost an hourly cache cluster.
  #checkov:skip=CKV2_AWS_51:Client certificates authenticate API Gateway to an HTTP backend; the backend here is Lambda (AWS_PROXY), which API Gateway calls with IAM.
  #checkov:skip=CKV2_AWS_29:No WAF web ACL: every method requires an API key and usage plans throttle and cap each key; a WAF adds a fixed monthly cost that this public-data API does not justify (docs/infra.md lists it as the next step for a public launch).
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  description          = "${var.stage_name} stage"
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      extendedRequestId  = "$context.extendedRequestId"
      requestTime        = "$context.requestTime"
      sourceIp           = "$context.identity.sourceIp"
      apiKeyId           = "$context.identity.apiKeyId"
      userAgent          = "$context.identity.userAgent"
      httpMethod         = "$context.httpMethod"
      resourcePath       = "$context.resourcePath"
      path               = "$context.path"
      status             = "$context.status"
      responseLength     = "$context.responseLength"
      responseLatency    = "$context.responseLatency"
      integrationStatus  = "$context.integration.status"
      integrationLatency = "$context.integration.latency"
      integrationError   = "$context.integration.error"
      errorMessage       = "$context.error.message"
      errorType          = "$context.error.responseType"
      xrayTraceId        = "$context.xrayTraceId"
    })
  }

  depends_on = [aws_cloudwatch_log_group.execution]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose (see the stage): POST bodies decide the answer and a cache cluster is billed per hour.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = var.execution_logging_level
    data_trace_enabled     = false
    caching_enabled        = false
    throttling_rate_limit  = var.stage_throttle.rate_limit
    throttling_burst_limit = var.stage_throttle.burst_limit
  }
}

resource "aws_api_gateway_usage_plan" "this" {
  for_each = var.usage_plans

  name        = "${var.name}-${each.key}"
  description = each.value.description

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = each.value.rate_limit
    burst_limit = each.value.burst_limit
  }

  quota_settings {
    limit  = each.value.quota_limit
    period = each.value.quota_period
  }
}

# Values are generated by API Gateway (never in the repository); they live in the encrypted
# Terraform Cloud state and are read with `aws apigateway get-api-key --include-value`.
resource "aws_api_gateway_api_key" "this" {
  for_each = var.api_keys

  name        = "${var.name}-${each.key}"
  description = each.value.description
  enabled     = each.value.enabled
}

resource "aws_api_gateway_usage_plan_key" "this" {
  for_each = var.api_keys

  key_id        = aws_api_gateway_api_key.this[each.key].id
  key_type      = "API_KEY"
  usage_plan_id = aws_api_gateway_usage_plan.this[each.value.usage_plan].id

  lifecycle {
    precondition {
      condition     = contains(keys(var.usage_plans), each.value.usage_plan)
      error_message = "API key ${each.key} names usage plan ${each.value.usage_plan}, which is not in usage_plans."
    }
  }
}
