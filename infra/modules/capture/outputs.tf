output "bucket_name" {
  description = "Bucket of captured predictions (captures/model=<model>/date=<YYYY-MM-DD>/)."
  value       = aws_s3_bucket.captures.bucket
}

output "bucket_arn" {
  description = "ARN of the capture bucket."
  value       = aws_s3_bucket.captures.arn
}

output "stream_name" {
  description = "Firehose delivery stream of captured predictions."
  value       = aws_kinesis_firehose_delivery_stream.captures.name
}

output "subscription_filter_pattern" {
  description = "The CloudWatch Logs filter pattern that selects capture lines."
  value       = aws_cloudwatch_log_subscription_filter.captures.filter_pattern
}

output "capture_prefix" {
  description = "S3 prefix of one model's captures: captures/model=<model>/."
  value       = "captures/model="
}
