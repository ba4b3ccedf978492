//go:build lambda

package e2e

// binaryTags: the layer build, whose AWS configuration is what Lambda
// provides.
const binaryTags = "lambda"
