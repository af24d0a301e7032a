# Production (branch main, Terraform Cloud workspace cnw-prd, GitHub environment prd).
environment = "prd"

# Unreserved (the account's shared pool): a reservation is refused on accounts whose concurrency
# quota is still 10. Set it only after checking the quota; a precondition compares it.
# lambda_reserved_concurrency = 50

lambda_memory_mb               = 1024
lambda_timeout_seconds         = 10
lambda_provisioned_concurrency = 1
log_level                      = "INFO"
log_retention_days             = 90
capture_sample                 = 0.1
capture_expiry_days            = 180

stage_throttle = {
  rate_limit  = 200
  burst_limit = 400
}

usage_plans = {
  standard = {
    description  = "Client applications"
    rate_limit   = 100
    burst_limit  = 200
    quota_limit  = 2000000
    quota_period = "MONTH"
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
  client = {
    description = "Production client application"
    usage_plan  = "standard"
  }
  ci-smoke = {
    description = "Read by the deploy workflow for its post-rollout smoke test"
    usage_plan  = "smoke"
  }
}

alarm_5xx_rate_threshold = 0.01
alarm_latency_p99_ms     = 1000
