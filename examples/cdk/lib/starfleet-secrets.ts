// The starfleet-secrets Lambda extension as one AWS CDK construct: it adds
// the layer of the function's architecture, sets the extension's
// variables, grants exactly what the extension reads, and creates the
// dashboard of its metrics and the two alarms a team would set.
import * as fs from 'fs';
import * as path from 'path';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface StarfleetSecretsProps {
  /** The function the extension rides along with. */
  readonly function: lambda.Function;
  /** Full ARN of the Starfleet secret, with its six-character suffix. */
  readonly secretArn: string;
  /**
   * The layer to add, one of two ways: layerArn, a published version of
   * the function's architecture (`tools/publish-layer.sh` prints them), or
   * layerDir, where the release's or `make layer`'s zips are
   * (starfleet-secrets-layer-<arch>.zip), which the stack then publishes
   * itself. Exactly one of the two.
   */
  readonly layerArn?: string;
  readonly layerDir?: string;
  /** STARFLEET_SECRETS_ALLOW: the slices the function may read; empty allows all. */
  readonly allowSlices?: string[];
  /**
   * STARFLEET_SECRETS_SLICE_PREFIX: the split layout, each slice its own
   * secret `<prefix><slice>` in secretArn's account and region (see
   * `starfleet-secrets split`). The function is then granted exactly the
   * allowed slices' secrets, and not secretArn: allowSlices is required.
   */
  readonly slicePrefix?: string;
  /** STARFLEET_SECRETS_TTL; default 300s. */
  readonly ttl?: string;
  /** More secrets warmed during INIT, each granted GetSecretValue. */
  readonly prefetchSecretArns?: string[];
  /** Parameter Store parameters warmed during INIT, each granted GetParameter(s). */
  readonly parameterArns?: string[];
  /** Customer managed KMS keys, each granted kms:Decrypt. */
  readonly kmsKeyArns?: string[];
  /** STARFLEET_SECRETS_ROLES, each granted sts:AssumeRole. */
  readonly roleArns?: string[];
  /** STARFLEET_SECRETS_METRICS_NAMESPACE; default StarfleetSecrets. */
  readonly metricsNamespace?: string;
  /** Create the dashboard and alarms; default true. */
  readonly dashboard?: boolean;
}

const defaultNamespace = 'StarfleetSecrets';

export class StarfleetSecrets extends Construct {
  readonly layer: lambda.ILayerVersion;

  constructor(scope: Construct, id: string, props: StarfleetSecretsProps) {
    super(scope, id);
    this.layer = layer(this, props);
    props.function.addLayers(this.layer);
    for (const [name, value] of Object.entries(environment(props))) {
      props.function.addEnvironment(name, value);
    }
    for (const statement of statements(props)) {
      props.function.addToRolePolicy(statement);
    }
    if (props.dashboard ?? true) {
      this.monitor(props);
    }
  }

  private monitor(props: StarfleetSecretsProps): void {
    const namespace = props.metricsNamespace ?? defaultNamespace;
    const functionName = props.function.functionName;
    // dashboard.json ships in the package (package.json's files), generated
    // from the repository's examples/dashboard at build time.
    const body = fs.readFileSync(path.join(__dirname, '..', 'dashboard.json'), 'utf8')
      .split('${Namespace}').join(namespace)
      .split('${FunctionName}').join(functionName)
      .split('${AWS::Region}').join(props.function.stack.region);
    new cloudwatch.CfnDashboard(this, 'Dashboard', { dashboardBody: body });
    const alarm = (id: string, metricName: string, description: string, evaluationPeriods: number, datapointsToAlarm: number) =>
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric: new cloudwatch.Metric({
          namespace, metricName, dimensionsMap: { FunctionName: functionName }, statistic: 'Sum', period: Duration.minutes(1),
        }),
        evaluationPeriods, datapointsToAlarm, threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    alarm('UpstreamFailing', 'UpstreamErrors', 'starfleet-secrets could not read from AWS in 3 of the last 5 minutes', 5, 3);
    alarm('ServedStale', 'StaleAnswers', 'starfleet-secrets served expired values (AWS failing or slow) in 2 of the last 3 minutes', 3, 2);
  }
}

/**
 * The secrets the Starfleet secret is read from: secretArn, or in the split
 * layout each allowed slice's, whose ARN ends in Secrets Manager's six
 * random characters, matched by six `?`.
 */
export function starfleetArns(props: StarfleetSecretsProps): string[] {
  if (!props.slicePrefix) return [props.secretArn];
  if (!props.allowSlices?.length) {
    throw new Error('StarfleetSecrets: the split layout (slicePrefix) grants exactly the allowed slices: set allowSlices');
  }
  const [, partition, , region, account] = props.secretArn.split(':');
  return props.allowSlices.map((slice) => `arn:${partition}:secretsmanager:${region}:${account}:secret:${props.slicePrefix}${slice}-??????`);
}

/** The layer props name: a published version, or one made from the zip. */
function layer(scope: Construct, props: StarfleetSecretsProps): lambda.ILayerVersion {
  if ((props.layerArn === undefined) === (props.layerDir === undefined)) {
    throw new Error('StarfleetSecrets: set exactly one of layerArn (a published layer version) and layerDir (the directory of the layer zips)');
  }
  if (props.layerArn !== undefined) {
    return lambda.LayerVersion.fromLayerVersionArn(scope, 'Layer', props.layerArn);
  }
  const arch = props.function.architecture === lambda.Architecture.ARM_64 ? 'arm64' : 'x86_64';
  return new lambda.LayerVersion(scope, 'Layer', {
    code: lambda.Code.fromAsset(path.join(props.layerDir!, `starfleet-secrets-layer-${arch}.zip`)),
    compatibleArchitectures: [props.function.architecture],
    description: `starfleet-secrets Lambda extension (${arch})`,
    license: 'Apache-2.0',
  });
}

/** The extension's variables for props. */
export function environment(props: StarfleetSecretsProps): Record<string, string> {
  const env: Record<string, string> = {
    STARFLEET_SECRET_ID: props.secretArn,
    // The region is the ARN's fourth field: a secret in another region works too.
    STARFLEET_SECRET_REGION: props.secretArn.split(':')[3],
    STARFLEET_SECRETS_TTL: props.ttl ?? '300s',
  };
  const prefetch = [...(props.prefetchSecretArns ?? []), ...(props.parameterArns ?? []).map((arn) => `ssm:${arn}`)];
  if (props.allowSlices?.length) env.STARFLEET_SECRETS_ALLOW = props.allowSlices.join(',');
  if (props.slicePrefix) env.STARFLEET_SECRETS_SLICE_PREFIX = props.slicePrefix;
  if (prefetch.length) env.STARFLEET_SECRETS_PREFETCH = prefetch.join(',');
  if (props.roleArns?.length) env.STARFLEET_SECRETS_ROLES = props.roleArns.join(',');
  if (props.metricsNamespace && props.metricsNamespace !== defaultNamespace) {
    env.STARFLEET_SECRETS_METRICS_NAMESPACE = props.metricsNamespace;
  }
  return env;
}

/** Exactly what the extension reads: no wildcard resource. */
export function statements(props: StarfleetSecretsProps): iam.PolicyStatement[] {
  const out = [new iam.PolicyStatement({
    sid: 'ReadTheStarfleetSecret',
    actions: ['secretsmanager:GetSecretValue'],
    resources: [...starfleetArns(props), ...(props.prefetchSecretArns ?? [])],
  })];
  const add = (sid: string, actions: string[], resources: string[] | undefined) => {
    if (resources?.length) out.push(new iam.PolicyStatement({ sid, actions, resources }));
  };
  // The split layout's slices are read at INIT in one BatchGetSecretValue,
  // an action IAM grants on no resource: it reads only what GetSecretValue
  // above allows, secret by secret.
  if (props.slicePrefix) add('ReadTheSlicesInOneCall', ['secretsmanager:BatchGetSecretValue'], ['*']);
  add('ReadTheParameters', ['ssm:GetParameter', 'ssm:GetParameters'], props.parameterArns);
  add('DecryptWithTheKeys', ['kms:Decrypt'], props.kmsKeyArns);
  add('AssumeTheRoles', ['sts:AssumeRole'], props.roleArns);
  return out;
}
