output "rest_api_id" {
  description = "Id of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "rest_api_name" {
  description = "Name of the REST API (the ApiName dimension of its CloudWatch metrics)."
  value       = aws_api_gateway_rest_api.this.name
}

output "execution_arn" {
  description = "Execution ARN of the REST API."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "stage_name" {
  description = "Name of the stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "invoke_url" {
  description = "Base URL of the stage (append /health, /models, /inference/delay)."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "api_key_ids" {
  description = "API key ids by name (values are read with `aws apigateway get-api-key --include-value`)."
  value       = { for name, key in aws_api_gateway_api_key.this : name => key.id }
}

output "api_key_arns" {
  description = "API key ARNs by name (for scoping apigateway:GET permissions)."
  value       = { for name, key in aws_api_gateway_api_key.this : name => key.arn }
}

output "access_log_group_name" {
  description = "Log group of the stage's access logs."
  value       = aws_cloudwatch_log_group.access.name
}

output "execution_log_group_name" {
  description = "Log group API Gateway writes the stage's execution logs to (created by Terraform, with retention)."
  value       = aws_cloudwatch_log_group.execution.name
}

output "execution_arn_stage" {
  description = "execute-api ARN prefix of this stage (<execution_arn>/<stage>): IAM policies append /<METHOD>/<path>."
  value       = "${aws_api_gateway_rest_api.this.execution_arn}/${aws_api_gateway_stage.this.stage_name}"
}

output "methods" {
  description = "Every method created, as \"<VERB> <path>\" => authorization (API_KEY or AWS_IAM)."
  value       = { for key, method in local.methods : key => method.authorization }
}
