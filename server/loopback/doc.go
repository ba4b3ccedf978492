// Package loopback is the API's transport: listeners on the loopback
// interface only (127.0.0.1 and ::1, plain TCP), a cap on open connections
// answered with a 429 below net/http, and the connection deadlines one
// sweeper enforces. It knows nothing of the routes it carries; it exists so
// that what protects the process from its callers reads, and is tested,
// apart from what the callers ask.
package loopback
