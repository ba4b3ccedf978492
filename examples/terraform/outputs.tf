output "layer_arn" {
  description = "The layer version to add to the function's layers: layer_arn as given, or the version made from layer_zip."
  value       = var.layer_arn != null ? var.layer_arn : aws_lambda_layer_version.this[0].arn
  precondition {
    condition     = (var.layer_zip == null) != (var.layer_arn == null)
    error_message = "Set exactly one of layer_zip (the release's zip of the function's architecture) and layer_arn (a published layer version)."
  }
}

output "policy_json" {
  description = "The least-privilege policy the function's role needs, as JSON."
  value       = data.aws_iam_policy_document.this.json
  precondition {
    condition     = var.slice_prefix == null || length(var.allow_slices) > 0
    error_message = "The split layout (slice_prefix) grants exactly the allowed slices: set allow_slices."
  }
}

output "environment" {
  description = "The variables to set on the function."
  value       = local.environment
}
