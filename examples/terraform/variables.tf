variable "layer_zip" {
  description = "Path to the layer zip of the function's architecture: dist/starfleet-secrets-layer-<architecture>.zip from make layer."
  type        = string
}

variable "architecture" {
  description = "The function's architecture."
  type        = string
  default     = "arm64"
  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "function_name" {
  description = "The function's name: the metrics' FunctionName dimension, and part of the dashboard's and alarms' names."
  type        = string
}

variable "secret_arn" {
  description = "Full ARN of the Starfleet secret, with Secrets Manager's six-character suffix."
  type        = string
  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", var.secret_arn))
    error_message = "secret_arn must be a full secret ARN, such as arn:aws:secretsmanager:us-east-2:111122223333:secret:Starfleet-AbCdEf."
  }
}

variable "allow_slices" {
  description = "The slices this function may read (STARFLEET_SECRETS_ALLOW); empty allows all."
  type        = list(string)
  default     = []
}

variable "ttl" {
  description = "STARFLEET_SECRETS_TTL."
  type        = string
  default     = "300s"
}

variable "prefetch_secret_arns" {
  description = "More secrets to warm during INIT; each is granted secretsmanager:GetSecretValue."
  type        = list(string)
  default     = []
}

variable "parameter_arns" {
  description = "Parameter Store parameters to warm during INIT; each is granted ssm:GetParameter(s)."
  type        = list(string)
  default     = []
}

variable "kms_key_arns" {
  description = "Customer managed KMS keys the secrets and SecureStrings are encrypted with; each is granted kms:Decrypt."
  type        = list(string)
  default     = []
}

variable "role_arns" {
  description = "Roles reads may be made under (STARFLEET_SECRETS_ROLES); each is granted sts:AssumeRole."
  type        = list(string)
  default     = []
}

variable "metrics_namespace" {
  description = "STARFLEET_SECRETS_METRICS_NAMESPACE, as the dashboard and alarms read it."
  type        = string
  default     = "StarfleetSecrets"
}

variable "dashboard" {
  description = "Create the CloudWatch dashboard and the two alarms."
  type        = bool
  default     = true
}
