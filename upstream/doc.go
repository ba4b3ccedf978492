// Package upstream is how the extension talks to AWS: the Secrets Manager,
// Parameter Store and STS clients it builds from what awsconfig read (a
// role's credentials assumed on first use), the services' JSON protocol
// and SigV4 signing, its own retries and clock-skew correction, the
// forwarding of calls it does not answer itself, a local file standing in
// for Secrets Manager, and what AWS's answers and failures mean. The cache
// decides when to ask; this package knows how, and how to read the answer.
package upstream
