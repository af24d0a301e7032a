variable "name" {
  description = "Name prefix (project-environment) of the table and the ingest role."
  type        = string
}

variable "api_execution_arn_stage" {
  description = "execute-api ARN of the stage (<execution_arn>/<stage>) whose IAM routes the ingest role may call."
  type        = string
}

variable "ingest_routes" {
  description = "The routes declared AWS_IAM (today POST /departures): the only ones the ingest role may invoke."
  type = list(object({
    method        = string
    path          = string
    name          = string
    authorization = string
  }))
}

variable "ingest_principals" {
  description = "IAM principal ARNs allowed to assume the ingest role (empty: nobody)."
  type        = list(string)
  default     = []
}

variable "deletion_protection" {
  description = "Refuse DeleteTable (prd): reported departures cannot be re-created from anything else."
  type        = bool
  default     = false
}
