package main

import (
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime/debug"
)

func init() {
	if a := os.Getenv("DP_PPROF"); a != "" {
		http.HandleFunc("/freeos", func(w http.ResponseWriter, r *http.Request) { debug.FreeOSMemory() })
		go http.ListenAndServe(a, nil)
	}
}
