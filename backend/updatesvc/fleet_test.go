package updatesvc

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/firmware"
)

// BenchmarkFleetUpdate is a fleet-sized update: 1,000 phones in one
// process check, verify the TUF metadata and fetch and verify an 8 MiB
// image. It reports the wall time, the service's throughput and the peak
// heap, which stays far below 1,000 images: downloads stream from disk.
//
//	go test -run '^$' -bench FleetUpdate -benchtime 1x ./backend/updatesvc
func BenchmarkFleetUpdate(b *testing.B) {
	const phones, size = 1000, 8 << 20
	s, err := New(Config{Dir: b.TempDir(), Clock: clock.Real{}, Describe: describe, ImageSize: size})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := s.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	if err := s.Approve("430hd", "UC430HD_3.4.6.537"); err != nil {
		b.Fatal(err)
	}
	root, err := firmware.LabRoot(nil, "audiocodes-1")
	if err != nil {
		b.Fatal(err)
	}
	res := s.Check(CheckRequest{Model: "430hd"})
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: phones}}
	cache := b.TempDir()
	for range b.N {
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		before := s.Stats().Bytes
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, phones)
		for i := range phones {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := firmware.Client{Root: root, MetadataURL: srv.URL() + res.MetadataURL,
					Dir: filepath.Join(cache, fmt.Sprint(i)), Now: time.Now(), HTTP: hc}
				tf, _, err := c.Target(res.Target)
				if err == nil {
					err = firmware.Fetch(context.Background(), hc, srv.URL()+res.ImageURL, tf)
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		close(stop)
		<-sampled
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		served := s.Stats().Bytes - before
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(float64(served)/wall.Seconds()/(1<<20), "MiB/s")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(served)/(1<<20), "served-MiB")
	}
}
