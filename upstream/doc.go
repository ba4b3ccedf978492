// Package upstream is how the extension talks to AWS: the credentials,
// region and endpoints it reads, the Secrets Manager and Parameter Store
// clients (and a local file standing in for Secrets Manager), its own
// retries, and what AWS's answers and failures mean. The cache decides when
// to ask; this package knows how, and how to read the answer.
package upstream
