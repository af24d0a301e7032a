output "workspaces" {
  description = "Terraform Cloud workspaces by environment."
  value       = { for env, workspace in tfe_workspace.service : env => workspace.name }
}

output "github_environments" {
  description = "GitHub environments created (delivery and monitor)."
  value       = concat([for env in github_repository_environment.service : env.environment], [for env in github_repository_environment.monitor : env.environment])
}
