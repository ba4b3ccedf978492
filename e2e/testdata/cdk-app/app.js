// A CDK app as a team writes it, outside this repository: it installs the
// packed construct from its tarball with aws-cdk-lib and constructs, and
// synthesizes one stack per way of naming the layer. Usage:
//   node app.js OUTDIR LAYERDIR
const cdk = require('aws-cdk-lib');
const lambda = require('aws-cdk-lib/aws-lambda');
const { StarfleetSecrets } = require('starfleet-secrets-cdk');

const [outdir, layerDir] = process.argv.slice(2);
const app = new cdk.App({ outdir });
const secretArn = 'arn:aws:secretsmanager:us-east-2:111122223333:secret:Starfleet-AbCdEf';

function worker(name, layer) {
  const stack = new cdk.Stack(app, name, { env: { account: '222233334444', region: 'us-east-2' } });
  const fn = new lambda.Function(stack, 'GitHubSync', {
    runtime: lambda.Runtime.PYTHON_3_12,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromInline('def handler(event, context):\n    return None\n'),
  });
  new StarfleetSecrets(stack, 'Secrets', { function: fn, secretArn, allowSlices: ['GitHubSyncWorker'], ...layer });
}

worker('FromZip', { layerDir });
worker('FromArn', { layerArn: 'arn:aws:lambda:us-east-2:444455556666:layer:starfleet-secrets-arm64:3' });
app.synth();
