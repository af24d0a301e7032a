output "ecr_repository_name" {
  description = "Image repository shared by the environments (the service stack's ecr_repository_name)."
  value       = aws_ecr_repository.service.name
}

output "ecr_repository_url" {
  description = "Image repository URL (images are pushed as <url>:<commit sha>)."
  value       = aws_ecr_repository.service.repository_url
}

output "github_oidc_provider_arn" {
  description = "GitHub Actions OIDC provider (created here or adopted)."
  value       = local.github_provider_arn
}

output "deploy_role_arns" {
  description = "Per environment: the role its delivery jobs assume (GitHub environment variable AWS_DEPLOY_ROLE_ARN)."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "monitor_role_arns" {
  description = "Per environment: the role the weekly monitor job assumes (GitHub environment <env>-monitor, variable AWS_MONITOR_ROLE_ARN)."
  value       = { for env, role in aws_iam_role.monitor : env => role.arn }
}

output "tfc_role_arns" {
  description = "Per environment: the run role of Terraform Cloud workspace <project>-<env> (workspace variable TFC_AWS_RUN_ROLE_ARN)."
  value       = { for env, role in aws_iam_role.tfc : env => role.arn }
}

output "capture_buckets" {
  description = "Per environment: the capture bucket name the service stack creates (the monitor roles are scoped to it)."
  value       = { for env, service in local.service : env => service.capture_bucket }
}

output "aws_region" {
  description = "Region of the registry and the service stacks."
  value       = var.aws_region
}
