output "layer_arn" {
  description = "The layer version to add to the function's layers."
  value       = aws_lambda_layer_version.this.arn
}

output "policy_json" {
  description = "The least-privilege policy the function's role needs, as JSON."
  value       = data.aws_iam_policy_document.this.json
}

output "environment" {
  description = "The variables to set on the function."
  value       = local.environment
}
