// Builds a stack around one function with the construct, offline, and
// returns its CloudFormation template.
const fs = require('fs');
const os = require('os');
const path = require('path');
const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const { Template } = require('aws-cdk-lib/assertions');
const { StarfleetSecrets } = require('../dist/starfleet-secrets');

const secretArn = 'arn:aws:secretsmanager:us-east-2:111122223333:secret:Starfleet-AbCdEf';

function synth(props = {}, architecture = lambda.Architecture.ARM_64) {
  const layerDir = fs.mkdtempSync(path.join(os.tmpdir(), 'starfleet-cdk-'));
  for (const arch of ['arm64', 'x86_64']) {
    fs.writeFileSync(path.join(layerDir, `starfleet-secrets-layer-${arch}.zip`), 'a stand-in for the layer zip');
  }
  const app = new cdk.App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'starfleet-cdk-out-')) });
  const stack = new cdk.Stack(app, 'Worker', { env: { account: '222233334444', region: 'us-east-1' } });
  const fn = new lambda.Function(stack, 'Worker', {
    runtime: lambda.Runtime.PYTHON_3_12,
    architecture,
    handler: 'index.handler',
    code: lambda.Code.fromInline('def handler(event, context):\n    return None\n'),
  });
  new StarfleetSecrets(stack, 'StarfleetSecrets', { function: fn, secretArn, layerDir, ...props });
  return Template.fromStack(stack);
}

// policyStatements are the statements of the policies the construct adds.
function policyStatements(template) {
  const out = [];
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
    out.push(...policy.Properties.PolicyDocument.Statement);
  }
  return out;
}

module.exports = { synth, policyStatements, secretArn };

// Run as a script, it prints the minimal stack's statements, which the Go
// tests compare with the SAM template's and the Terraform module's.
// With "split", the split layout's (slices in secrets under Starfleet/).
if (require.main === module) {
  const split = process.argv[2] === 'split' ? { slicePrefix: 'Starfleet/' } : {};
  process.stdout.write(JSON.stringify(policyStatements(synth({ allowSlices: ['GitHubSyncWorker'], ...split }))) + '\n');
}
