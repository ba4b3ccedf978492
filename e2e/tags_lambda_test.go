//go:build lambda

package e2e

// binaryTags: the layer build, whose AWS configuration is what Lambda
// provides and whose net/http has no HTTP/2.
const binaryTags = layerTags
