package main

import (
	"os"
	"runtime/debug"
)

// leanGCPercent is the garbage collector's target for the processes that
// hold thousands of connections: the heap may grow by a quarter over what
// is live before a collection, instead of Go's default doubling, which
// would set the resident size of an idle fleet or cloud at up to twice its
// live data. Their idle allocation is slow, so the collections cost little.
const leanGCPercent = 25

// leanGC applies leanGCPercent unless the user chose with GOGC.
func leanGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(leanGCPercent)
	}
}

// trimAfterBoot hands the garbage of a start-up burst (ten thousand TLS
// handshakes) back to the operating system and collects lean from then
// on: the burst ran at the default target, which it needs for speed.
func trimAfterBoot() {
	leanGC()
	debug.FreeOSMemory()
}
