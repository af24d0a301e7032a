# One repository for every environment: dev pushes <commit sha> tags, prd deploys the same digest.
# Tags are immutable, so a tag names exactly one image forever.

resource "aws_ecr_repository" "service" {
  #checkov:skip=CKV_AWS_136:AES256 (SSE with AWS-owned keys) already encrypts images at rest; a customer-managed KMS key adds cost and key-policy coupling with Lambda's image pull without protecting anything more for a public-data model image.
  name                 = var.project
  image_tag_mutability = "IMMUTABLE"
  force_delete         = false

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

# Only untagged images expire (issue 10, defect 9). An ECR lifecycle rule cannot know which images
# Lambda versions use, and any published version is a rollback target (`update-alias` back to it),
# so expiring tagged images by count or age could delete the image behind one. Each release adds
# only its own layers (the package and models/, a few MB) on top of shared base layers.
resource "aws_ecr_lifecycle_policy" "service" {
  repository = aws_ecr_repository.service.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after ${var.ecr_untagged_expiry_days} days (never a tagged one)"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.ecr_untagged_expiry_days
        }
        action = { type = "expire" }
      },
    ]
  })
}

# Lambda pulls the image with its service principal; scoping by source ARN keeps other functions
# of the account from using this repository.
data "aws_iam_policy_document" "lambda_pull" {
  statement {
    sid     = "LambdaImagePull"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "aws:sourceArn"
      values   = ["arn:${local.partition}:lambda:${local.region}:${local.account}:function:${var.project}-*"]
    }
  }
}

resource "aws_ecr_repository_policy" "service" {
  repository = aws_ecr_repository.service.name
  policy     = data.aws_iam_policy_document.lambda_pull.json
}
