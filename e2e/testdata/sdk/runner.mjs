// Runs AWS SDK calls for the end-to-end tests with the AWS SDK for
// JavaScript v3, unchanged but for the endpoint variables: one JSON request
// a line on stdin, one JSON answer a line on stdout.
import * as secretsmanager from "@aws-sdk/client-secrets-manager";
import * as ssm from "@aws-sdk/client-ssm";
import readline from "node:readline";

const services = {
  secretsmanager: [secretsmanager, secretsmanager.SecretsManagerClient],
  ssm: [ssm, ssm.SSMClient],
};

function client(service, auth) {
  const [, Client] = services[service];
  const config = { maxAttempts: 1 };
  if (auth === "other") {
    config.credentials = { accessKeyId: "AKIDOTHERCALLER00000", secretAccessKey: "other-secret", sessionToken: "other-token" };
  } else if (auth === "unsigned") {
    config.signer = { sign: async (request) => request };
  }
  return new Client(config);
}

function plain(value) {
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).filter(([k]) => k !== "$metadata").map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

for await (const line of readline.createInterface({ input: process.stdin })) {
  const call = JSON.parse(line);
  const [lib] = services[call.service];
  const params = call.params ?? {};
  if (params.SecretBinary) params.SecretBinary = Buffer.from(params.SecretBinary, "base64");
  let answer;
  try {
    const out = await client(call.service, call.auth).send(new lib[call.op + "Command"](params));
    answer = { ok: plain(out) };
  } catch (e) {
    answer = { error: e.name, class: e.constructor.name, status: e.$metadata?.httpStatusCode ?? 0 };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
