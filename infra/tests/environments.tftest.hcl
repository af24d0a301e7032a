# The whole service stack with one environment's real tfvars and the mocked AWS provider. Run once
# per environment by tests/infra/test_terraform.py:
#   terraform test -filter=tests/environments.tftest.hcl -var-file=envs/<env>.tfvars
# (github_repository and image_tag come from the workflow in CI; here from the variables below).

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  github_repository = "acme/challenge-neuralworks"
  image_tag         = "0123456789abcdef0123456789abcdef01234567"
}

run "stack" {
  assert {
    condition = toset(keys(output.api_methods)) == toset(concat(
      [for route in jsondecode(file("routes.json")).routes : "${route.method} ${route.path}"],
      [for path in distinct([for route in jsondecode(file("routes.json")).routes : route.path]) : "ANY ${path}"],
    ))
    error_message = "API Gateway's methods must be routes.json's plus one ANY per resource: ${jsonencode(keys(output.api_methods))}"
  }

  assert {
    condition     = alltrue([for route in jsondecode(file("routes.json")).routes : output.api_methods["${route.method} ${route.path}"] == route.authorization])
    error_message = "Each method must carry its route's authorization."
  }

  assert {
    condition     = output.image_uri == "123456789012.dkr.ecr.us-east-1.amazonaws.com/cnw@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    error_message = "The function is created from the registry's image, pinned by digest."
  }

  assert {
    condition     = alltrue([for name in output.rollout_alarm_names : contains(values(output.alarm_names), name)]) && length(output.rollout_alarm_names) == 4
    error_message = "Every alarm the canary watches exists."
  }

  assert {
    condition     = output.alarm_topic_arn != null && output.alarm_topic_arn != ""
    error_message = "Every environment has an alarm topic (prd alarms page someone)."
  }

  assert {
    condition     = var.lambda_reserved_concurrency == null
    error_message = "Environments default to unreserved concurrency (a reservation is refused on new accounts)."
  }

  assert {
    condition     = local.lambda_environment["CNW_STAGE"] == var.environment && local.lambda_environment["CNW_DEPARTURES_TABLE"] == output.departures_table && output.departures_table == "cnw-${var.environment}-departures"
    error_message = "The function knows its stage and its departures table."
  }

  assert {
    condition     = local.lambda_environment["CNW_CAPTURE_SAMPLE"] == (var.environment == "prd" ? "0.1" : "1")
    error_message = "dev captures every prediction, prd one in ten."
  }

  assert {
    condition     = var.log_retention_days == (var.environment == "prd" ? 90 : 14) && output.log_groups["api_execution"] == "API-Gateway-Execution-Logs_a1b2c3d4e5/${var.environment}"
    error_message = "Log retention per environment, and the execution log group is Terraform's."
  }

  assert {
    condition     = var.environment == "dev" || var.lambda_provisioned_concurrency >= 1
    error_message = "prd keeps a warm instance (the deploy command waits for it to be READY)."
  }

  assert {
    condition     = output.capture_bucket == "cnw-${var.environment}-captures-123456789012-us-east-1"
    error_message = "The capture bucket's name is the one the bootstrap's monitor role is scoped to."
  }
}

run "speculative_plans_use_the_newest_image" {
  command = plan

  variables {
    image_tag = null
  }

  assert {
    condition     = data.aws_ecr_image.service.most_recent == true && data.aws_ecr_image.service.image_tag == null
    error_message = "Without a tag, the plan resolves the most recently pushed image."
  }
}
