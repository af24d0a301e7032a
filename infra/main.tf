# The service stack of one environment (Terraform Cloud workspaces cnw-dev, cnw-prd). What exists
# once per account (the image repository, the GitHub OIDC provider, deploy roles, API Gateway's
# CloudWatch role) lives in infra/bootstrap and is applied before this stack.

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

# The repository is the bootstrap's, shared by the environments: dev and prd run the same image.
data "aws_ecr_repository" "service" {
  name = var.ecr_repository_name
}

# The image must already be in the registry: the delivery workflow pushes (dev) or resolves (prd)
# it BEFORE this stack is planned, so a first apply on a fresh account finds it (issue 10, defect 2).
# A missing tag fails the plan here, before anything is created.
data "aws_ecr_image" "service" {
  repository_name = data.aws_ecr_repository.service.name
  image_tag       = var.image_tag
  most_recent     = var.image_tag == null ? true : null
}

locals {
  name = "${var.project}-${var.environment}"
  tags = merge(var.extra_tags, {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
    Repository  = var.github_repository
  })

  # The function runs the image by digest: the bytes dev tested are the bytes prd runs.
  image_uri = "${data.aws_ecr_repository.service.repository_url}@${data.aws_ecr_image.service.image_digest}"

  routes = jsondecode(file("${path.module}/${var.routes_file}")).routes

  # The alarms `deploy` watches during a canary bake (and rolls back on). Their names are fixed
  # strings (no resource attribute), so the function can carry them as a tag without a cycle.
  rollout_alarm_keys  = ["lambda-errors", "lambda-throttles", "lambda-duration-p99", "api-5xx-rate"]
  rollout_alarm_names = [for key in local.rollout_alarm_keys : "${local.name}-${key}"]

  # The function's environment: names from challenge_neuralworks/environment.py (or POWERTOOLS_*),
  # checked by tests/infra/test_routes_and_environment.py.
  lambda_environment = {
    CNW_STAGE                    = var.environment
    CNW_CAPTURE_SAMPLE           = tostring(var.capture_sample)
    CNW_DEPARTURES_TABLE         = module.departures.table_name
    LOG_LEVEL                    = var.log_level
    POWERTOOLS_SERVICE_NAME      = var.project
    POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
  }
}

module "departures" {
  source = "./modules/departures"

  name                    = local.name
  api_execution_arn_stage = module.api_gateway.execution_arn_stage
  ingest_principals       = var.departures_ingest_principals
  ingest_routes           = [for route in local.routes : route if route.authorization == "AWS_IAM"]
  deletion_protection     = var.environment == "prd"
}

module "lambda" {
  source = "./modules/lambda"

  name                    = local.name
  image_uri               = local.image_uri
  memory_mb               = var.lambda_memory_mb
  timeout_seconds         = var.lambda_timeout_seconds
  reserved_concurrency    = var.lambda_reserved_concurrency
  provisioned_concurrency = var.lambda_provisioned_concurrency
  alias_name              = var.lambda_alias_name
  log_retention_days      = var.log_retention_days
  departures_table_arn    = module.departures.table_arn
  rollout_alarm_names     = local.rollout_alarm_names

  environment_variables = local.lambda_environment
}

module "api_gateway" {
  source = "./modules/api_gateway"

  name                    = local.name
  stage_name              = var.environment
  routes                  = local.routes
  lambda_function_name    = module.lambda.function_name
  lambda_alias_name       = module.lambda.alias_name
  lambda_alias_invoke_arn = module.lambda.alias_invoke_arn
  stage_throttle          = var.stage_throttle
  usage_plans             = var.usage_plans
  api_keys                = var.api_keys
  log_retention_days      = var.log_retention_days
}

module "alarms" {
  source = "./modules/alarms"

  name                  = local.name
  api_name              = module.api_gateway.rest_api_name
  stage_name            = module.api_gateway.stage_name
  function_name         = module.lambda.function_name
  alias_name            = module.lambda.alias_name
  alarm_email_addresses = var.alarm_email_addresses
  error_rate_threshold  = var.alarm_5xx_rate_threshold
  latency_p99_ms        = var.alarm_latency_p99_ms
  duration_p99_ms       = var.alarm_duration_p99_ms
  metrics_namespace     = var.metrics_namespace
  delay_rate_band       = var.delay_rate_band
}

module "dashboard" {
  source = "./modules/dashboard"

  name              = local.name
  region            = var.aws_region
  api_name          = module.api_gateway.rest_api_name
  stage_name        = module.api_gateway.stage_name
  function_name     = module.lambda.function_name
  alias_name        = module.lambda.alias_name
  log_group_name    = module.lambda.log_group_name
  metrics_namespace = var.metrics_namespace
  delay_rate_band   = var.delay_rate_band
}

module "capture" {
  source = "./modules/capture"

  name               = local.name
  account_id         = data.aws_caller_identity.current.account_id
  region             = var.aws_region
  log_group_name     = module.lambda.log_group_name
  expiry_days        = var.capture_expiry_days
  log_retention_days = var.log_retention_days
}
