// A client of the AWS Parameters and Secrets Lambda Extension written the
// way published ones are: Node 18+ fetch, http://localhost on the layer's
// port, the trailing-slash path, withDecryption=true always, the session
// token in X-Aws-Parameters-Secrets-Token. It prints, as one JSON object,
// the parameters and secrets named on the command line ("ssm:" or
// "secret:" before each name), or the HTTP status and body of a failure.
const port = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
const headers = { 'X-Aws-Parameters-Secrets-Token': process.env.AWS_SESSION_TOKEN };

async function getParameter(name) {
  const response = await fetch(`http://localhost:${port}/systemsmanager/parameters/get/?name=${encodeURIComponent(name)}&withDecryption=true`, { headers });
  if (!response.ok) {
    return { status: response.status, body: await response.json() };
  }
  const { Parameter } = await response.json();
  return Parameter;
}

async function getSecret(secretId) {
  const response = await fetch(`http://localhost:${port}/secretsmanager/get?secretId=${encodeURIComponent(secretId)}`, { headers });
  if (!response.ok) {
    return { status: response.status, body: await response.json() };
  }
  return await response.json();
}

const out = {};
for (const arg of process.argv.slice(2)) {
  const [kind, ...rest] = arg.split(':');
  const name = rest.join(':');
  out[arg] = kind === 'ssm' ? await getParameter(name) : await getSecret(name);
}
console.log(JSON.stringify(out));
