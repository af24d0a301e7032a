# Development (branch develop, Terraform Cloud workspace cnw-dev, GitHub environment dev).
environment = "dev"

# Unreserved (the account's shared pool): a reservation is refused on accounts whose concurrency
# quota is still 10. Set it only after checking the quota; a precondition compares it.
# lambda_reserved_concurrency = 50

lambda_memory_mb               = 1024
lambda_timeout_seconds         = 10
lambda_provisioned_concurrency = 0
log_level                      = "DEBUG"
log_retention_days             = 14
capture_sample                 = 1.0

stage_throttle = {
  rate_limit  = 20
  burst_limit = 40
}

usage_plans = {
  standard = {
    description  = "Developers and integration tests"
    rate_limit   = 10
    burst_limit  = 20
    quota_limit  = 10000
    quota_period = "DAY"
  }
  smoke = {
    description  = "Deploy smoke tests only"
    rate_limit   = 1
    burst_limit  = 5
    quota_limit  = 1000
    quota_period = "DAY"
  }
}

api_keys = {
  developers = {
    description = "Shared developer key for dev"
    usage_plan  = "standard"
  }
  ci-smoke = {
    description = "Read by the deploy workflow for its post-rollout smoke test"
    usage_plan  = "smoke"
  }
}

alarm_latency_p99_ms = 2000
