//go:build !lambda

package e2e

// binaryTags are the build tags the binary under test is built with: the
// suite run with -tags lambda,nethttpomithttp2 tests the layer build.
const binaryTags = ""
