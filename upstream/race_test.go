//go:build race

package upstream

// raceEnabled: the test binary is built with the race detector.
const raceEnabled = true
