variable "name" {
  description = "Dashboard name (project-environment)."
  type        = string
}

variable "region" {
  description = "Region of every widget's metrics."
  type        = string
}

variable "api_name" {
  description = "REST API name (ApiName dimension)."
  type        = string
}

variable "stage_name" {
  description = "Stage name (API Gateway Stage dimension and the EMF Stage dimension)."
  type        = string
}

variable "function_name" {
  description = "Lambda function name."
  type        = string
}

variable "alias_name" {
  description = "Alias whose metrics are shown (Resource dimension FUNCTION:ALIAS)."
  type        = string
}

variable "log_group_name" {
  description = "The function's log group (cold starts are counted from its REPORT records)."
  type        = string
}

variable "metrics_namespace" {
  description = "Namespace of the function's EMF metrics."
  type        = string
}

variable "delay_rate_band" {
  description = "The PredictedDelayRate alarm's band, drawn on the delay-rate widget."
  type = object({
    reference       = number
    tolerance       = number
    periods         = number
    min_predictions = number
  })
}
