//go:build race

package media

// raceEnabled: the race detector is on, and allocation counts mean little.
const raceEnabled = true
