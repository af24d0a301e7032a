# Inputs of the service stack. Environment-specific values are in envs/<environment>.tfvars; the
# GitHub repository and the image tag are passed by the delivery workflow; the AWS account id
# (optional guard) is a Terraform Cloud workspace variable so that no account id is committed.

variable "project" {
  description = "Short project name: the first part of every resource name (<project>-<environment>)."
  type        = string
  default     = "cnw"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.project))
    error_message = "project must be 2-20 lower case letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment this workspace deploys: dev (branch develop) or prd (branch main). Also the stage and GitHub environment name."
  type        = string

  validation {
    condition     = contains(["dev", "prd"], var.environment)
    error_message = "environment must be dev or prd."
  }
}

variable "aws_region" {
  description = "AWS region of the whole stack."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must look like us-east-1."
  }
}

variable "aws_account_id" {
  description = "Optional: the only AWS account this workspace may touch (provider allowed_account_ids). Set as a Terraform Cloud workspace variable."
  type        = string
  default     = null

  validation {
    condition     = var.aws_account_id == null || can(regex("^[0-9]{12}$", var.aws_account_id))
    error_message = "aws_account_id must be 12 digits or null."
  }
}

variable "github_repository" {
  description = "GitHub repository (owner/name) whose deploy jobs may assume the deploy role; the workflow passes github.repository."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}





variable "lambda_memory_mb" {
  description = "Lambda memory in MB (CPU scales with it)."
  type        = number
  default     = 1024

  validation {
    condition     = var.lambda_memory_mb >= 128 && var.lambda_memory_mb <= 10240
    error_message = "lambda_memory_mb must be between 128 and 10240."
  }
}

variable "lambda_timeout_seconds" {
  description = "Lambda timeout in seconds; strictly below API Gateway's 29 s integration timeout so the handler's own error, not a gateway 504, reaches the client."
  type        = number
  default     = 10

  validation {
    condition     = var.lambda_timeout_seconds >= 1 && var.lambda_timeout_seconds < 29
    error_message = "lambda_timeout_seconds must be between 1 and 28 (< 29 s, API Gateway's integration timeout)."
  }
}


variable "lambda_provisioned_concurrency" {
  description = "Provisioned concurrency on the live alias (no cold starts, billed per hour); 0 disables it."
  type        = number
  default     = 0

  validation {
    condition     = var.lambda_provisioned_concurrency >= 0 && var.lambda_provisioned_concurrency <= 100
    error_message = "lambda_provisioned_concurrency must be between 0 and 100."
  }
}

variable "lambda_alias_name" {
  description = "Alias API Gateway invokes; the deploy command moves it (--alias)."
  type        = string
  default     = "live"

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9_-]{0,127}$", var.lambda_alias_name))
    error_message = "lambda_alias_name must be a valid alias name."
  }
}


variable "log_retention_days" {
  description = "Retention (days) of the Lambda and API access log groups."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "stage_throttle" {
  description = "Stage-wide throttle for all methods (requests per second, burst)."
  type = object({
    rate_limit  = number
    burst_limit = number
  })
  default = {
    rate_limit  = 50
    burst_limit = 100
  }

  validation {
    condition     = var.stage_throttle.rate_limit > 0 && var.stage_throttle.rate_limit <= 10000 && var.stage_throttle.burst_limit >= 1 && var.stage_throttle.burst_limit <= 5000
    error_message = "stage_throttle.rate_limit must be in (0, 10000] and burst_limit in [1, 5000] (account defaults)."
  }
}

variable "usage_plans" {
  description = "Usage plans by name: per-key throttle (rate_limit req/s, burst_limit) and quota (quota_limit per quota_period DAY|WEEK|MONTH)."
  type = map(object({
    description  = string
    rate_limit   = number
    burst_limit  = number
    quota_limit  = number
    quota_period = string
  }))

  validation {
    condition     = length(var.usage_plans) > 0 && alltrue([for p in values(var.usage_plans) : contains(["DAY", "WEEK", "MONTH"], p.quota_period) && p.rate_limit > 0 && p.burst_limit >= 1 && p.quota_limit >= 1])
    error_message = "Each usage plan needs rate_limit > 0, burst_limit >= 1, quota_limit >= 1 and quota_period DAY, WEEK or MONTH."
  }
}

variable "api_keys" {
  description = "API keys by name, each in one usage plan (the plan must exist in usage_plans). Rotate a key by adding a new name, handing it over, then removing the old name."
  type = map(object({
    description = string
    usage_plan  = string
    enabled     = optional(bool, true)
  }))

  validation {
    condition     = length(var.api_keys) > 0 && alltrue([for name in keys(var.api_keys) : can(regex("^[a-z0-9][a-z0-9-]{0,63}$", name))])
    error_message = "api_keys needs at least one key; names are lower case letters, digits and hyphens."
  }
}

variable "smoke_api_key" {
  description = "Name (a key of api_keys) of the API key the deploy job reads to smoke-test through API Gateway."
  type        = string
  default     = "ci-smoke"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,63}$", var.smoke_api_key))
    error_message = "smoke_api_key must be the name of one of api_keys (lower case letters, digits, hyphens)."
  }
}


variable "alarm_5xx_rate_threshold" {
  description = "5XX fraction of requests that fires the API error alarm."
  type        = number
  default     = 0.01

  validation {
    condition     = var.alarm_5xx_rate_threshold > 0 && var.alarm_5xx_rate_threshold < 1
    error_message = "alarm_5xx_rate_threshold is a fraction between 0 and 1."
  }
}

variable "alarm_latency_p99_ms" {
  description = "p99 latency (ms) that fires the latency alarm."
  type        = number
  default     = 1000

  validation {
    condition     = var.alarm_latency_p99_ms > 0 && var.alarm_latency_p99_ms < 29000
    error_message = "alarm_latency_p99_ms must be positive and below 29000."
  }
}

variable "extra_tags" {
  description = "Additional tags for every resource (cost centre, owner...). Project, Environment, ManagedBy and Repository are always set."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k, v in var.extra_tags : length(k) <= 128 && length(v) <= 256 && !contains(["Project", "Environment", "ManagedBy", "Repository"], k)])
    error_message = "extra_tags keys are at most 128 characters, values at most 256, and cannot override Project, Environment, ManagedBy or Repository."
  }
}

variable "ecr_repository_name" {
  description = "Name of the image repository the bootstrap stack created (shared by dev and prd)."
  type        = string
  default     = "cnw"

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.ecr_repository_name))
    error_message = "ecr_repository_name must be an ECR repository name."
  }
}

variable "image_tag" {
  description = "Immutable image tag (the commit sha) the function is CREATED with; it must already be in the registry (the workflow builds or resolves it before planning). null: the most recently pushed image (speculative plans). After creation the deploy command owns the image and Terraform ignores it."
  type        = string
  default     = null

  validation {
    condition     = var.image_tag == null || (can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest")
    error_message = "image_tag must be a valid, immutable Docker tag (never latest), or null."
  }
}

variable "routes_file" {
  description = "The API's routes (generated from challenge_neuralworks/routes.py), relative to this directory. Tests point it at fixtures."
  type        = string
  default     = "routes.json"

  validation {
    condition     = endswith(var.routes_file, ".json")
    error_message = "routes_file must be a .json file (python -m challenge_neuralworks.routes > infra/routes.json)."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of the function (cost ceiling, isolation); null leaves it unreserved. When set, a precondition checks it against the account's concurrency quota: AWS keeps 100 unreserved, so accounts still at the new-account quota of 10 cannot reserve any."
  type        = number
  default     = null

  validation {
    condition     = var.lambda_reserved_concurrency == null || try(var.lambda_reserved_concurrency >= 1 && var.lambda_reserved_concurrency <= 10000 && floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency, false)
    error_message = "lambda_reserved_concurrency must be null (unreserved) or a whole number between 1 and 10000."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of the handler."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "capture_sample" {
  description = "Share of predictions the function captures (CNW_CAPTURE_SAMPLE): 0 off .. 1 all. dev 1.0, prd 0.1."
  type        = number

  validation {
    condition     = var.capture_sample >= 0 && var.capture_sample <= 1
    error_message = "capture_sample must be between 0 and 1."
  }
}

variable "capture_expiry_days" {
  description = "Days after which captured predictions (and Firehose error output) expire from the capture bucket."
  type        = number
  default     = 90

  validation {
    condition     = var.capture_expiry_days >= 7 && var.capture_expiry_days <= 3650 && floor(var.capture_expiry_days) == var.capture_expiry_days
    error_message = "capture_expiry_days must be a whole number of days between 7 (a weekly monitor must find a week) and 3650."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's EMF metrics (POWERTOOLS_METRICS_NAMESPACE)."
  type        = string
  default     = "challenge_neuralworks"

  validation {
    condition     = can(regex("^[A-Za-z0-9_./#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a custom CloudWatch namespace (not AWS/...)."
  }
}

variable "delay_rate_band" {
  description = "Static band for the PredictedDelayRate alarm (Model=delay): reference = share of flights the model flags on its training-time test set (models/delay/manifest.json metrics.random.full.flagged_share), tolerance = allowed absolute deviation, hourly periods out of band before the alarm fires, and the minimum predictions per hour for a period to count."
  type = object({
    reference       = number
    tolerance       = number
    periods         = optional(number, 3)
    min_predictions = optional(number, 20)
  })
  default = {
    reference = 0.34
    tolerance = 0.15
  }

  validation {
    condition     = var.delay_rate_band.reference > 0 && var.delay_rate_band.reference < 1 && var.delay_rate_band.tolerance > 0 && var.delay_rate_band.tolerance < 1 && var.delay_rate_band.periods >= 1 && var.delay_rate_band.periods <= 24 && var.delay_rate_band.min_predictions >= 1
    error_message = "delay_rate_band needs 0 < reference < 1, 0 < tolerance < 1, 1..24 periods and min_predictions >= 1."
  }
}

variable "alarm_email_addresses" {
  description = "E-mail addresses subscribed to the environment's alarm topic (each must confirm). The topic exists and is every alarm's action even when this is empty (subscribe a pager or chat integration to it)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for address in var.alarm_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "alarm_email_addresses must be e-mail addresses."
  }
}

variable "alarm_duration_p99_ms" {
  description = "p99 Lambda duration (ms) on the live alias that fires the function's latency alarm (a rollout gate)."
  type        = number
  default     = 1000

  validation {
    condition     = var.alarm_duration_p99_ms > 0 && var.alarm_duration_p99_ms < 29000
    error_message = "alarm_duration_p99_ms must be positive and below 29000."
  }
}

variable "departures_ingest_principals" {
  description = "IAM principal ARNs (the operations feed's roles or accounts) that may assume the ingest role and sign POST /departures. Empty: the role exists and nobody can assume it."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.departures_ingest_principals : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(root|role/.+|user/.+)$", arn))])
    error_message = "departures_ingest_principals must be IAM role, user or account-root ARNs."
  }
}
