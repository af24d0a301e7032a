# Thresholds are validated by the root module's variables; this module only wires them.

variable "name" {
  description = "Alarm name prefix (project-environment)."
  type        = string
}

variable "api_name" {
  description = "REST API name (ApiName dimension)."
  type        = string
}

variable "stage_name" {
  description = "Stage name (Stage dimension)."
  type        = string
}

variable "function_name" {
  description = "Lambda function name (FunctionName dimension)."
  type        = string
}

variable "alias_name" {
  description = "Alias whose metrics are watched (Resource dimension FUNCTION:ALIAS)."
  type        = string
}




variable "error_rate_threshold" {
  description = "Fraction of requests answered 5XX above which the alarm fires (0.01 = 1%)."
  type        = number
}

variable "latency_p99_ms" {
  description = "p99 latency (ms) above which the alarm fires."
  type        = number
}

variable "throttles_threshold" {
  description = "Throttled invocations per period above which the alarm fires."
  type        = number
  default     = 0
}

variable "lambda_errors_threshold" {
  description = "Function errors per period above which the alarm fires."
  type        = number
  default     = 0
}

variable "alarm_email_addresses" {
  description = "E-mail addresses subscribed to the alarm topic."
  type        = list(string)
  default     = []
}

variable "duration_p99_ms" {
  description = "p99 Lambda duration (ms) above which the function's latency alarm fires."
  type        = number
}

variable "metrics_namespace" {
  description = "Namespace of the function's EMF metrics."
  type        = string
}

variable "delay_rate_band" {
  description = "Static band of the PredictedDelayRate alarm: reference, tolerance, periods (hours), min_predictions."
  type = object({
    reference       = number
    tolerance       = number
    periods         = number
    min_predictions = number
  })
}
