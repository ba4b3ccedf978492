// Package awsconfig is what the extension reads of AWS's own settings:
// credentials (and keeping them until they near expiry), the region, the
// services' endpoints and their FIPS and dual-stack variants, and the loop
// guard that keeps the extension from being its own upstream. The default
// build reads them through the SDK's config package; the layer build reads
// Lambda's environment itself, to start faster. upstream builds its clients
// from what this package read.
package awsconfig
