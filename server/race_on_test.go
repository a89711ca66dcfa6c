//go:build race

package server

// raceEnabled reports a -race build, whose instrumented frames are larger,
// so that stack measurements do not apply.
const raceEnabled = true
