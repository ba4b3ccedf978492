# starfleet-secrets as a Terraform module: the layer (a published version,
# or one made from the release's zip), the least-privilege policy a function
# needs to use it, the variables to set on the function, and the dashboard
# and alarms of its metrics. README.md shows its use; examples/basic is a
# whole function wired to it.

locals {
  # The secret's region is the ARN's fourth field, so a secret in another
  # region works too.
  secret_region = split(":", var.secret_arn)[3]
  # The secrets the Starfleet secret is read from: secret_arn, or in the
  # split layout each allowed slice's, whose ARN ends in Secrets Manager's
  # six random characters, matched by six "?".
  starfleet_arns = var.slice_prefix == null ? [var.secret_arn] : [
    for slice in var.allow_slices :
    format("arn:%s:secretsmanager:%s:%s:secret:%s%s-??????", split(":", var.secret_arn)[1], local.secret_region, split(":", var.secret_arn)[4], var.slice_prefix, slice)
  ]
  prefetch = concat(
    var.prefetch_secret_arns,
    [for arn in var.parameter_arns : "ssm:${arn}"],
  )
  environment = merge(
    {
      STARFLEET_SECRET_ID     = var.secret_arn
      STARFLEET_SECRET_REGION = local.secret_region
      STARFLEET_SECRETS_TTL   = var.ttl
    },
    length(var.allow_slices) > 0 ? { STARFLEET_SECRETS_ALLOW = join(",", var.allow_slices) } : {},
    var.slice_prefix != null ? { STARFLEET_SECRETS_SLICE_PREFIX = var.slice_prefix } : {},
    length(local.prefetch) > 0 ? { STARFLEET_SECRETS_PREFETCH = join(",", local.prefetch) } : {},
    length(var.role_arns) > 0 ? { STARFLEET_SECRETS_ROLES = join(",", var.role_arns) } : {},
    var.metrics_namespace != "StarfleetSecrets" ? { STARFLEET_SECRETS_METRICS_NAMESPACE = var.metrics_namespace } : {},
  )
  # dashboard.json ships in the module (generated from the repository's
  # examples/dashboard by make dashboards), its placeholders filled in.
  dashboard = replace(replace(replace(file("${path.module}/dashboard.json"),
    "$${Namespace}", var.metrics_namespace),
    "$${FunctionName}", var.function_name),
  "$${AWS::Region}", data.aws_region.current.name)
}

data "aws_region" "current" {}

# The layer version made from the zip, unless a published one is named.
resource "aws_lambda_layer_version" "this" {
  count                    = var.layer_zip != null ? 1 : 0
  layer_name               = "starfleet-secrets-${var.architecture}"
  description              = "starfleet-secrets Lambda extension (${var.architecture})"
  filename                 = var.layer_zip
  source_code_hash         = filebase64sha256(var.layer_zip)
  compatible_architectures = [var.architecture]
  license_info             = "Apache-2.0"
}

# Exactly what the extension reads, and nothing broader: no "*" resource.
# Each grant is made only where something is named.
locals {
  grants = {
    ReadTheParameters  = { actions = ["ssm:GetParameter", "ssm:GetParameters"], resources = var.parameter_arns }
    DecryptWithTheKeys = { actions = ["kms:Decrypt"], resources = var.kms_key_arns }
    AssumeTheRoles     = { actions = ["sts:AssumeRole"], resources = var.role_arns }
  }
}

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "ReadTheStarfleetSecret"
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat(local.starfleet_arns, var.prefetch_secret_arns)
  }
  # The split layout's slices are read at INIT in one BatchGetSecretValue,
  # an action IAM grants on no resource: it reads only what the statement
  # above allows, secret by secret.
  dynamic "statement" {
    for_each = var.slice_prefix == null ? [] : ["split"]
    content {
      sid       = "ReadTheSlicesInOneCall"
      effect    = "Allow"
      actions   = ["secretsmanager:BatchGetSecretValue"]
      resources = ["*"]
    }
  }
  dynamic "statement" {
    for_each = { for sid, grant in local.grants : sid => grant if length(grant.resources) > 0 }
    content {
      sid       = statement.key
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  count          = var.dashboard ? 1 : 0
  dashboard_name = "starfleet-secrets-${var.function_name}"
  dashboard_body = local.dashboard
}

# The two alarms a team would set: AWS cannot be read, and values are
# served expired.
locals {
  alarms = {
    upstream-failing = {
      metric      = "UpstreamErrors"
      description = "starfleet-secrets could not read from AWS in 3 of the last 5 minutes"
      periods     = 5
      datapoints  = 3
    }
    served-stale = {
      metric      = "StaleAnswers"
      description = "starfleet-secrets served expired values (AWS failing or slow) in 2 of the last 3 minutes"
      periods     = 3
      datapoints  = 2
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "this" {
  for_each            = var.dashboard ? local.alarms : {}
  alarm_name          = "starfleet-secrets-${var.function_name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = var.metrics_namespace
  metric_name         = each.value.metric
  dimensions          = { FunctionName = var.function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = each.value.periods
  datapoints_to_alarm = each.value.datapoints
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
}
