//go:build !linux

package main

// makeUndumpable has no equivalent off Linux, where the extension runs only
// as a local sidecar.
func makeUndumpable() error { return nil }
