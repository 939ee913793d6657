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

// bootGCPercent is the target while a fleet starts: the phones' lasting
// data is made among ten thousand TLS handshakes' garbage, and collecting
// at half again (not Go's doubling) packs it tighter, at little cost in
// speed.
const bootGCPercent = 50

// leanGC applies leanGCPercent unless the user chose with GOGC.
func leanGC() { setGCPercent(leanGCPercent) }

// bootGC applies bootGCPercent unless the user chose with GOGC.
func bootGC() { setGCPercent(bootGCPercent) }

func setGCPercent(percent int) {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(percent)
	}
}

// trimAfterBoot hands the garbage of a start-up burst back to the
// operating system and collects lean from then on.
func trimAfterBoot() {
	leanGC()
	debug.FreeOSMemory()
}
