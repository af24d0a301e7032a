# Most inputs are validated by the root module; the rules this module enforces itself are the
# ones that would make it unsafe on its own (timeout vs API Gateway, a pinned image).

variable "name" {
  description = "Function name (project-environment prefix); also names its role and log group."
  type        = string
}

variable "image_uri" {
  description = "ECR image URI used when the function is created (pinned by digest). Later image changes belong to the deploy command."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", var.image_uri)) && !endswith(var.image_uri, ":latest")
    error_message = "image_uri must be an ECR URI pinned by an immutable tag or a digest (never :latest)."
  }
}

variable "memory_mb" {
  description = "Memory (MB); CPU share scales with it."
  type        = number
}

variable "timeout_seconds" {
  description = "Function timeout (s); must stay below API Gateway's 29 s integration timeout."
  type        = number

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds < 29
    error_message = "timeout_seconds must be between 1 and 28 (API Gateway gives up at 29 s)."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions; null leaves the function in the account's unreserved pool."
  type        = number
  default     = null
}

variable "provisioned_concurrency" {
  description = "Provisioned concurrency on the alias (warm instances, no cold start); 0 disables it."
  type        = number
  default     = 0
}

variable "alias_name" {
  description = "Name of the alias API Gateway invokes and the deploy command shifts."
  type        = string
  default     = "live"
}

variable "log_retention_days" {
  description = "Retention of the function's log group (days)."
  type        = number
}

variable "environment_variables" {
  description = "The function's environment (names from challenge_neuralworks/environment.py, or POWERTOOLS_*)."
  type        = map(string)
}

variable "departures_table_arn" {
  description = "ARN of the departures table the function reads and writes."
  type        = string
}

variable "rollout_alarm_names" {
  description = "Alarms the deploy command watches during a canary bake (the function's RolloutAlarms tag)."
  type        = list(string)

  validation {
    condition     = length(var.rollout_alarm_names) > 0
    error_message = "A canary needs at least one alarm to watch."
  }
}
