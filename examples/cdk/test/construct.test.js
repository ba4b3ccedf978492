const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const path = require('path');
const lambda = require('aws-cdk-lib/aws-lambda');
const { Match } = require('aws-cdk-lib/assertions');
const { synth, policyStatements, secretArn } = require('./stack');

test('the layer of the function architecture, and the variables', () => {
  for (const [arch, name] of [[lambda.Architecture.ARM_64, 'arm64'], [lambda.Architecture.X86_64, 'x86_64']]) {
    const t = synth({ allowSlices: ['GitHubSyncWorker'] }, arch);
    t.resourceCountIs('AWS::Lambda::LayerVersion', 1);
    t.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: [name], LicenseInfo: 'Apache-2.0' });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Layers: [Match.objectLike({ Ref: Match.stringLikeRegexp('StarfleetSecretsLayer') })],
      Environment: { Variables: {
        STARFLEET_SECRET_ID: secretArn, STARFLEET_SECRET_REGION: 'us-east-2',
        STARFLEET_SECRETS_TTL: '300s', STARFLEET_SECRETS_ALLOW: 'GitHubSyncWorker',
      } },
    });
  }
});

test('exactly the grants the extension needs, and nothing broader', () => {
  const t = synth({
    prefetchSecretArns: ['arn:aws:secretsmanager:eu-west-1:111122223333:secret:shared-db-XyZ123'],
    parameterArns: ['arn:aws:ssm:us-east-2:111122223333:parameter/app/flag'],
    kmsKeyArns: ['arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
    roleArns: ['arn:aws:iam::111122223333:role/reader'],
  });
  const granted = {};
  for (const s of policyStatements(t)) {
    assert.strictEqual(s.Effect, 'Allow');
    for (const action of [].concat(s.Action)) {
      granted[action] = [...(granted[action] || []), ...[].concat(s.Resource)].sort();
    }
  }
  assert.deepStrictEqual(granted, {
    'secretsmanager:GetSecretValue': [secretArn, 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:shared-db-XyZ123'].sort(),
    'ssm:GetParameter': ['arn:aws:ssm:us-east-2:111122223333:parameter/app/flag'],
    'ssm:GetParameters': ['arn:aws:ssm:us-east-2:111122223333:parameter/app/flag'],
    'kms:Decrypt': ['arn:aws:kms:us-east-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
    'sts:AssumeRole': ['arn:aws:iam::111122223333:role/reader'],
  });
  const text = JSON.stringify(policyStatements(t));
  assert.ok(!text.includes('*'), `a wildcard in ${text}`);
  t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: {
    STARFLEET_SECRETS_ROLES: 'arn:aws:iam::111122223333:role/reader',
    STARFLEET_SECRETS_PREFETCH: Match.stringLikeRegexp('ssm:arn:aws:ssm:us-east-2:111122223333:parameter/app/flag'),
  } } });
});

test('the dashboard the package ships and the two alarms', () => {
  const t = synth();
  t.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  const body = Object.values(t.findResources('AWS::CloudWatch::Dashboard'))[0].Properties.DashboardBody;
  const rendered = JSON.stringify(body);
  const file = fs.readFileSync(path.join(__dirname, '..', 'dashboard.json'), 'utf8');
  for (const metric of ['CacheHits', 'UpstreamErrors', 'FetchLatency', 'NegativeHits']) {
    assert.ok(file.includes(metric) && rendered.includes(metric), metric);
  }
  t.resourceCountIs('AWS::CloudWatch::Alarm', 2);
  for (const metric of ['UpstreamErrors', 'StaleAnswers']) {
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'StarfleetSecrets', MetricName: metric, Threshold: 0, ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: 'FunctionName', Value: Match.anyValue() }],
    });
  }
  const none = synth({ dashboard: false });
  none.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  none.resourceCountIs('AWS::CloudWatch::Alarm', 0);
});

test('a published layer version by its ARN, in place of the zip', () => {
  const layerArn = 'arn:aws:lambda:us-east-1:444455556666:layer:starfleet-secrets-arm64:7';
  const t = synth({ layerArn, layerDir: undefined });
  t.resourceCountIs('AWS::Lambda::LayerVersion', 0);
  t.hasResourceProperties('AWS::Lambda::Function', { Layers: [layerArn] });
});

test('exactly one of layerArn and layerDir', () => {
  assert.throws(() => synth({ layerArn: 'arn:aws:lambda:us-east-1:444455556666:layer:x:1' }), /exactly one of layerArn/);
  assert.throws(() => synth({ layerDir: undefined }), /exactly one of layerArn/);
});

test('the split layout grants exactly the allowed slices\' secrets', () => {
  const t = synth({ slicePrefix: 'Starfleet/', allowSlices: ['GitHubSyncWorker'] });
  assert.deepStrictEqual(policyStatements(t).map((s) => [s.Action, s.Resource]), [
    ['secretsmanager:GetSecretValue', 'arn:aws:secretsmanager:us-east-2:111122223333:secret:Starfleet/GitHubSyncWorker-??????'],
    ['secretsmanager:BatchGetSecretValue', '*'],
  ]);
  t.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({
    STARFLEET_SECRETS_SLICE_PREFIX: 'Starfleet/', STARFLEET_SECRETS_ALLOW: 'GitHubSyncWorker',
  }) } });
  assert.throws(() => synth({ slicePrefix: 'Starfleet/' }), /set allowSlices/);
});
