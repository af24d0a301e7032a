variable "name" {
  description = "Name prefix (project-environment)."
  type        = string
}

variable "account_id" {
  description = "AWS account id (bucket name, Firehose's external id, the logs role's source ARN)."
  type        = string
}

variable "region" {
  description = "Region of the stack (bucket name, the logs role's source ARN)."
  type        = string
}

variable "log_group_name" {
  description = "The function's log group, whose prediction_capture lines are captured."
  type        = string
}


variable "expiry_days" {
  description = "Days after which captured predictions and Firehose error output expire."
  type        = number
}

variable "log_retention_days" {
  description = "Retention of Firehose's delivery-error log group."
  type        = number
}
