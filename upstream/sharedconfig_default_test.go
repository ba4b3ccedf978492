//go:build !lambda

package upstream

// readsSharedConfig: the default build reads the shared config files, as
// the SDK does.
const readsSharedConfig = true
