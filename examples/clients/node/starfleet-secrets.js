#!/usr/bin/env node
'use strict';
/**
 * Read slices of the Starfleet secret from the starfleet-secrets extension.
 *
 *   const { getSlice } = require('./starfleet-secrets');
 *
 *   exports.handler = async (event) => {
 *     const worker = await getSlice('GitHubSyncWorker'); // parsed JSON
 *     const app = worker[event.org];
 *     // use app.PrivateKey here; never log or return it
 *   };
 *
 * Each getSlice() is one GET of http://127.0.0.1:PORT/secret/<slice>. Nothing
 * is cached here on purpose: the extension is the cache, and a copy kept in
 * the handler would hide a rotated secret. Read once per invocation.
 *
 * Environment: STARFLEET_SECRETS_PORT (default 2773); the token comes from
 * STARFLEET_SECRETS_TOKEN, else AWS_TOKEN, AWS_SESSION_TOKEN or
 * AWS_CONTAINER_AUTHORIZATION_TOKEN, the order the extension uses (Lambda
 * sets AWS_SESSION_TOKEN; SnapStart functions get the last one).
 *
 * Node.js 18+, standard library only. As a script it prints one slice:
 *
 *   node starfleet-secrets.js GitHubSyncWorker
 */
const http = require('node:http');
const { performance } = require('node:perf_hooks');

const TOKEN_HEADER = 'X-Aws-Parameters-Secrets-Token';
const TOKEN_VARIABLES = [
  'STARFLEET_SECRETS_TOKEN',
  'AWS_TOKEN',
  'AWS_SESSION_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
];
// The extension listens on the IPv4 loopback only; "localhost" might resolve
// to ::1 first and meet a refused connection.
const HOST = '127.0.0.1';
const DEFAULT_PORT = 2773;
// Inside Lambda the extension listens before the handler can run, so a
// refused connection means it is (re)starting, or, outside Lambda, that the
// sidecar is still coming up. Retry briefly, then give up with a clear error.
const RETRY_FOR_MS = 1000;
const REQUEST_TIMEOUT_MS = 10000; // above the extension's 5 s fetch timeout

class StarfleetSecretsError extends Error {
  /**
   * @param {string} message
   * @param {number} status HTTP status, 0 when the extension was unreachable
   * @param {string} code the extension's error code, e.g. "SliceNotFound"
   */
  constructor(message, status = 0, code = '') {
    super(message);
    this.name = 'StarfleetSecretsError';
    this.status = status;
    this.code = code;
  }
}

function token() {
  for (const name of TOKEN_VARIABLES) {
    if (process.env[name]) return process.env[name];
  }
  throw new StarfleetSecretsError(
    'no token: set STARFLEET_SECRETS_TOKEN (outside Lambda) or run inside Lambda, which sets AWS_SESSION_TOKEN');
}

function port() {
  const raw = process.env.STARFLEET_SECRETS_PORT || '';
  if (raw === '') return DEFAULT_PORT;
  const n = /^\d+$/.test(raw) ? Number(raw) : 0;
  if (n < 1 || n > 65535) {
    throw new StarfleetSecretsError(`STARFLEET_SECRETS_PORT=${JSON.stringify(raw)}: want a port number`);
  }
  return n;
}

function requestOnce(path, headers, p) {
  return new Promise((resolve, reject) => {
    // agent: false gives a fresh connection per request; a pooled one could
    // have been closed by the extension while Lambda froze the environment.
    const req = http.get({ host: HOST, port: p, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

async function get(path) {
  const headers = { [TOKEN_HEADER]: token() };
  const p = port();
  const deadline = performance.now() + RETRY_FOR_MS;
  let delay = 10;
  for (;;) {
    try {
      return await requestOnce(path, headers, p);
    } catch (err) {
      if (err.code !== 'ECONNREFUSED') {
        throw new StarfleetSecretsError(`reading from ${HOST}:${p}: ${err.message}`);
      }
      if (performance.now() + delay > deadline) {
        throw new StarfleetSecretsError(
          `connection refused by ${HOST}:${p} for ${RETRY_FOR_MS} ms: is the starfleet-secrets ` +
          'extension attached (layer or /opt/extensions) and STARFLEET_SECRETS_PORT right?');
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 200);
    }
  }
}

/**
 * Returns the parsed JSON value of one slice of the Starfleet secret.
 * Throws StarfleetSecretsError; a missing slice has status 404 and code
 * "SliceNotFound", a wrong token or a slice outside STARFLEET_SECRETS_ALLOW
 * status 403.
 * @param {string} name
 */
async function getSlice(name) {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError('slice names are non-empty strings');
  }
  const { status, body } = await get('/secret/' + encodeURIComponent(name));
  if (status === 200) return JSON.parse(body.toString('utf8'));
  let code = '';
  let message = body.subarray(0, 200).toString('utf8');
  try {
    const err = JSON.parse(body.toString('utf8'));
    code = String(err.error || '');
    message = String(err.message || '');
  } catch {
    // not the extension's JSON error; keep the start of the body
  }
  throw new StarfleetSecretsError(`HTTP ${status} ${code}: ${message}`, status, code);
}

module.exports = { getSlice, StarfleetSecretsError };

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args.length !== 1) {
    console.error('usage: node starfleet-secrets.js SLICE');
    process.exit(2);
  }
  getSlice(args[0]).then(
    (value) => console.log(JSON.stringify(value, null, 2)),
    (err) => {
      console.error(`error: ${err.message}`);
      process.exitCode = 1;
    });
}
