output "alarm_names" {
  description = "Names of the alarms, by signal."
  value = merge(
    { for key, alarm in aws_cloudwatch_metric_alarm.this : key => alarm.alarm_name },
    { delay-rate-out-of-band = aws_cloudwatch_metric_alarm.delay_rate_band.alarm_name },
  )
}

output "topic_arn" {
  description = "SNS topic every alarm notifies (subscribe pagers, chat or e-mail to it)."
  value       = aws_sns_topic.alarms.arn
}
