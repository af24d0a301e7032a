output "invoke_url" {
  description = "Base URL of the API stage (the deploy command's --smoke-url)."
  value       = module.api_gateway.invoke_url
}

output "rest_api_id" {
  description = "Id of the REST API."
  value       = module.api_gateway.rest_api_id
}

output "api_methods" {
  description = "Every API Gateway method, \"<VERB> <path>\" => authorization (API_KEY or AWS_IAM), as built from routes.json."
  value       = module.api_gateway.methods
}

output "api_key_ids" {
  description = "API key ids by name; values: aws apigateway get-api-key --api-key ID --include-value."
  value       = module.api_gateway.api_key_ids
}

output "smoke_api_key_id" {
  description = "Id of the API key the release job reads for its smoke test through API Gateway."
  value       = module.api_gateway.api_key_ids[var.smoke_api_key]
}

output "function_name" {
  description = "Lambda function name (the deploy command's --function)."
  value       = module.lambda.function_name
}

output "alias_name" {
  description = "Alias that serves traffic (the deploy command's --alias)."
  value       = module.lambda.alias_name
}

output "alias_arn" {
  description = "Qualified ARN of the traffic alias."
  value       = module.lambda.alias_arn
}

output "image_uri" {
  description = "Image (by digest) the function was created from or is planned with."
  value       = local.image_uri
}

output "rollout_alarm_names" {
  description = "Alarms the deploy command watches during a canary bake (also the function's RolloutAlarms tag)."
  value       = local.rollout_alarm_names
}

output "alarm_names" {
  description = "CloudWatch alarm names by signal."
  value       = module.alarms.alarm_names
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = module.alarms.topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the environment."
  value       = module.dashboard.dashboard_name
}

output "capture_bucket" {
  description = "Bucket of captured predictions (the monitor workflow's CAPTURE_BUCKET)."
  value       = module.capture.bucket_name
}

output "departures_table" {
  description = "DynamoDB table of reported departures (CNW_DEPARTURES_TABLE)."
  value       = module.departures.table_name
}

output "departures_ingest_role_arn" {
  description = "Role the operations feed assumes to sign POST /departures."
  value       = module.departures.ingest_role_arn
}

output "log_groups" {
  description = "Log groups of the function, the API's access and execution logs."
  value = {
    lambda        = module.lambda.log_group_name
    api_access    = module.api_gateway.access_log_group_name
    api_execution = module.api_gateway.execution_log_group_name
  }
}
