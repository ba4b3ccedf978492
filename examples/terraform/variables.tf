variable "layer_zip" {
  description = "Path to the layer zip of the function's architecture (starfleet-secrets-layer-<architecture>.zip of a release, or of make layer); the module publishes it. Set this or layer_arn."
  type        = string
  default     = null
  validation {
    condition     = var.layer_zip == null || can(regex("\\.zip$", var.layer_zip))
    error_message = "layer_zip must be the path of a .zip file."
  }
}

variable "layer_arn" {
  description = "A published layer version of the function's architecture (tools/publish-layer.sh prints them). Set this or layer_zip."
  type        = string
  default     = null
  validation {
    condition     = var.layer_arn == null || can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+$", var.layer_arn))
    error_message = "layer_arn must be a layer version ARN, such as arn:aws:lambda:us-east-2:111122223333:layer:starfleet-secrets-arm64:3."
  }
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
  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be a Lambda function name: 1 to 64 letters, digits, hyphens or underscores."
  }
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
  validation {
    condition     = alltrue([for s in var.allow_slices : can(regex("^[^,\\s]+$", s))])
    error_message = "Each of allow_slices must be a slice name (a top-level key of the Starfleet secret) without commas or spaces."
  }
}

variable "slice_prefix" {
  description = "STARFLEET_SECRETS_SLICE_PREFIX: the split layout, each slice its own secret <prefix><slice> in secret_arn's account and region (see starfleet-secrets split). The function is then granted exactly the allow_slices' secrets, and not secret_arn."
  type        = string
  default     = null
  validation {
    condition     = var.slice_prefix == null || can(regex("^[A-Za-z0-9/_+=.@-]{1,256}$", var.slice_prefix))
    error_message = "slice_prefix must be the start of a secret name: 1 to 256 of letters, digits and /_+=.@-."
  }
}

variable "ttl" {
  description = "STARFLEET_SECRETS_TTL: whole seconds (\"300\") or a Go duration (\"5m\"); 0 turns caching off."
  type        = string
  default     = "300s"
  validation {
    condition     = can(regex("^([0-9]+|([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+)$", var.ttl))
    error_message = "ttl must be whole seconds (\"300\") or a Go duration (\"300s\", \"5m\", \"1h30m\")."
  }
}

variable "prefetch_secret_arns" {
  description = "More secrets to warm during INIT; each is granted secretsmanager:GetSecretValue."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for arn in var.prefetch_secret_arns : can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+-[A-Za-z0-9]{6}$", arn))])
    error_message = "Each of prefetch_secret_arns must be a full ARN, such as arn:aws:secretsmanager:eu-west-1:111122223333:secret:shared-db-XyZ123."
  }
}

variable "parameter_arns" {
  description = "Parameter Store parameters to warm during INIT; each is granted ssm:GetParameter(s)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for arn in var.parameter_arns : can(regex("^arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/.+$", arn))])
    error_message = "Each of parameter_arns must be a full ARN, such as arn:aws:ssm:us-east-2:111122223333:parameter/app/flag."
  }
}

variable "kms_key_arns" {
  description = "Customer managed KMS keys the secrets and SecureStrings are encrypted with; each is granted kms:Decrypt."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for arn in var.kms_key_arns : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", arn))])
    error_message = "Each of kms_key_arns must be a full ARN, such as arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab."
  }
}

variable "role_arns" {
  description = "Roles reads may be made under (STARFLEET_SECRETS_ROLES); each is granted sts:AssumeRole."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for arn in var.role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", arn))])
    error_message = "Each of role_arns must be a full ARN, such as arn:aws:iam::111122223333:role/reader."
  }
}

variable "metrics_namespace" {
  description = "STARFLEET_SECRETS_METRICS_NAMESPACE, as the dashboard and alarms read it."
  type        = string
  default     = "StarfleetSecrets"
  validation {
    condition     = can(regex("^[0-9A-Za-z.\\-_/#:]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a CloudWatch namespace: 1 to 255 of letters, digits and . - _ / # :, not starting with AWS/."
  }
}

variable "dashboard" {
  description = "Create the CloudWatch dashboard and the two alarms."
  type        = bool
  default     = true
}
