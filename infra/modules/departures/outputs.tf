output "table_name" {
  description = "Name of the departures table (CNW_DEPARTURES_TABLE)."
  value       = aws_dynamodb_table.departures.name
}

output "table_arn" {
  description = "ARN of the departures table."
  value       = aws_dynamodb_table.departures.arn
}

output "ingest_role_arn" {
  description = "Role the operations feed assumes to sign POST /departures."
  value       = aws_iam_role.ingest.arn
}
