// Package e2e holds the black-box tests of starfleet-secrets: each builds
// the real binary and runs it as a process, under the fake Lambda platform
// (extension/extensiontest) or in local mode, with Secrets Manager played by
// moto behind a counting, fault-injecting proxy (upstream/upstreamtest). The
// shipped artefacts (layer zips, SAM template, container recipe) and the
// client examples are tested here too, against the same binary.
//
// framework_test.go is the small framework every test file stands on: one
// launcher, start(t, options...), whose options pick the mode (Lambda mode
// under the fake platform by default, serving(file) for local mode,
// underEmulator(n) for the Runtime Interface Emulator) and adjust it
// (withEnv, withPlatform, withProxy, withBinary); one waiting loop, poll;
// and a scanner for leaked secrets. Each other file covers one concern.
// Package main keeps only its unit tests.
package e2e
