//go:build lambda

package upstream

// readsSharedConfig: the layer build reads only what Lambda provides, the
// environment.
const readsSharedConfig = false
