output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified ARN of the function."
  value       = aws_lambda_function.this.arn
}

output "alias_name" {
  description = "Name of the traffic alias."
  value       = aws_lambda_alias.live.name
}

output "alias_arn" {
  description = "Qualified ARN of the traffic alias."
  value       = aws_lambda_alias.live.arn
}

output "alias_invoke_arn" {
  description = "Invoke ARN of the alias: the only target API Gateway integrations use."
  value       = aws_lambda_alias.live.invoke_arn
}

output "log_group_name" {
  description = "Log group of the function (application logs, EMF metrics, captured predictions)."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "role_name" {
  description = "Name of the execution role."
  value       = aws_iam_role.this.name
}
