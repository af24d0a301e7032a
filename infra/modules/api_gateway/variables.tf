variable "name" {
  description = "REST API name (project-environment prefix); also prefixes usage plans, keys and log groups."
  type        = string
}

variable "stage_name" {
  description = "Stage name (the environment: dev or prd)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,63}$", var.stage_name))
    error_message = "stage_name must be lower case letters, digits or underscores."
  }
}

variable "lambda_function_name" {
  description = "Name of the Lambda function the integrations invoke."
  type        = string
}

variable "lambda_alias_name" {
  description = "Alias of the function that the integrations invoke (the permission is scoped to it)."
  type        = string
}

variable "lambda_alias_invoke_arn" {
  description = "Invoke ARN of the Lambda alias (never the unqualified function)."
  type        = string

  validation {
    condition     = can(regex(":function:[^:/]+:[A-Za-z][A-Za-z0-9_-]*/invocations$", var.lambda_alias_invoke_arn))
    error_message = "lambda_alias_invoke_arn must be the invoke ARN of an alias (…:function:NAME:ALIAS/invocations)."
  }
}

variable "stage_throttle" {
  description = "Stage-wide throttling (requests per second and burst), applied to every method before usage-plan limits."
  type = object({
    rate_limit  = number
    burst_limit = number
  })
}

variable "usage_plans" {
  description = "Usage plans by name: per-key throttle (rate, burst) and quota (limit per DAY, WEEK or MONTH)."
  type = map(object({
    description  = string
    rate_limit   = number
    burst_limit  = number
    quota_limit  = number
    quota_period = string
  }))
}

variable "api_keys" {
  description = "API keys by name, each attached to one usage plan. Rotate by adding a new name and removing the old one."
  type = map(object({
    description = string
    usage_plan  = string
    enabled     = optional(bool, true)
  }))
}

variable "log_retention_days" {
  description = "Retention of the access-log group (days)."
  type        = number
}

variable "execution_logging_level" {
  description = "API Gateway execution logging level (OFF, ERROR or INFO)."
  type        = string
  default     = "ERROR"

  validation {
    condition     = contains(["OFF", "ERROR", "INFO"], var.execution_logging_level)
    error_message = "execution_logging_level must be OFF, ERROR or INFO."
  }
}

variable "routes" {
  description = "The API's routes (infra/routes.json's \"routes\"): method, path (API Gateway resource template), name and authorization (API_KEY or AWS_IAM)."
  type = list(object({
    method        = string
    path          = string
    name          = string
    authorization = string
  }))

  validation {
    condition     = length(var.routes) > 0 && alltrue([for r in var.routes : contains(["API_KEY", "AWS_IAM"], r.authorization) && contains(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"], r.method) && can(regex("^(/[A-Za-z0-9_.-]+|/\\{[A-Za-z_][A-Za-z0-9_]*\\}){1,3}$", r.path))])
    error_message = "Each route needs authorization API_KEY or AWS_IAM, an HTTP method, and a path of 1 to 3 segments (literal or {parameter})."
  }

  validation {
    condition     = length(var.routes) == length(distinct([for r in var.routes : "${r.method} ${r.path}"]))
    error_message = "A method and path may be declared only once."
  }
}
