# One function reading the GitHubSyncWorker slice of the Starfleet secret
# through the extension, the layer made from a release's zip.
#
#   terraform init && terraform apply -var layer_zip=starfleet-secrets-layer-arm64.zip

terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

variable "layer_zip" {
  description = "starfleet-secrets-layer-arm64.zip of a release."
  type        = string
}

variable "secret_arn" {
  description = "Full ARN of the Starfleet secret."
  type        = string
  default     = "arn:aws:secretsmanager:us-east-2:111122223333:secret:Starfleet-AbCdEf"
}

variable "function_zip" {
  description = "The function's own code."
  type        = string
  default     = "function.zip"
}

module "starfleet_secrets" {
  source        = "../.."
  layer_zip     = var.layer_zip
  architecture  = "arm64"
  function_name = "github-sync"
  secret_arn    = var.secret_arn
  allow_slices  = ["GitHubSyncWorker"]
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "worker" {
  name               = "github-sync"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "starfleet_secrets" {
  role   = aws_iam_role.worker.id
  policy = module.starfleet_secrets.policy_json
}

resource "aws_lambda_function" "worker" {
  function_name = "github-sync"
  role          = aws_iam_role.worker.arn
  runtime       = "python3.12"
  handler       = "app.handler"
  architectures = ["arm64"]
  filename      = var.function_zip
  layers        = [module.starfleet_secrets.layer_arn]
  environment {
    variables = module.starfleet_secrets.environment
  }
}

output "function_arn" {
  value = aws_lambda_function.worker.arn
}
