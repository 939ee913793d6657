//go:build unix

package media

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media/sdp"
)

// loadWindow is how long each load benchmark measures, after the calls
// have settled.
const loadWindow = 3 * time.Second

// BenchmarkEngineLoad runs N concurrent SRTP calls (AES_CM_128_HMAC_SHA1_80,
// a tone each way) in one engine, so 2N sessions, 50 packets/s in each
// direction, and reports the process's CPU (user+sys, in % of one core),
// the packet loss, the 99th percentile of the sessions' RFC 3550 jitter
// and the packet rate achieved per direction over the window. PCMU shows
// the engine; G.722 adds its decoder, the dearest part of a packet. Run
// with -benchtime=1x.
func BenchmarkEngineLoad(b *testing.B) {
	for _, codec := range []codecs.Codec{codecs.PCMU, codecs.G722} {
		for _, calls := range []int{100, 500, 1000} {
			b.Run(fmt.Sprintf("%v/calls=%d", codec, calls), func(b *testing.B) {
				for range b.N {
					runLoad(b, codec, calls)
				}
			})
		}
	}
}

func runLoad(b *testing.B, codec codecs.Codec, calls int) {
	b.StopTimer()
	e := newEngine(b, Config{SRTP: Mandatory, Codecs: []codecs.Codec{codec}})
	src := mustTone(b, 1000)
	pairs := make([][2]*Session, calls)
	for i := range pairs {
		a, c := openSession(b, e), openSession(b, e)
		a.SetSource(src)
		c.SetSource(src)
		connect(b, a, c)
		pairs[i] = [2]*Session{a, c}
	}
	time.Sleep(time.Second) // every stream locked, detectors and buffers warm

	type sample struct{ sent, received, lost uint64 }
	snap := func() []sample {
		out := make([]sample, 0, 2*calls)
		for _, p := range pairs {
			for _, s := range p {
				st := s.Stats()
				out = append(out, sample{st.PacketsSent, st.PacketsReceived, st.Lost + st.Late})
			}
		}
		return out
	}
	before, cpu0, t0 := snap(), cpuTime(b), time.Now()
	b.StartTimer()
	time.Sleep(loadWindow)
	b.StopTimer()
	after, cpu1, elapsed := snap(), cpuTime(b), time.Since(t0)

	var sent, lost uint64
	for i := range after {
		peer := i ^ 1 // the other session of the pair
		sent += after[peer].sent - before[peer].sent
		lost += after[i].lost - before[i].lost
	}
	var jitter []float64
	var authFailed, bad uint64
	for _, p := range pairs {
		for _, s := range p {
			st := s.Stats()
			jitter = append(jitter, st.JitterMS)
			authFailed += st.SRTPAuthFailed
			bad += st.BadPackets
			if st.SRTPSuite != sdp.DefaultSuite {
				b.Fatalf("call without SRTP: %+v", st)
			}
		}
	}
	slices.Sort(jitter)
	b.ReportMetric(100*float64(cpu1-cpu0)/float64(elapsed), "cpu%")
	b.ReportMetric(100*float64(lost)/float64(max(sent, 1)), "loss%")
	b.ReportMetric(jitter[len(jitter)*99/100], "jitter-p99-ms")
	b.ReportMetric(float64(sent)/elapsed.Seconds()/float64(2*calls), "pkt/s/dir")
	if authFailed+bad != 0 {
		b.Errorf("auth failures %d, bad packets %d under load", authFailed, bad)
	}
}

// cpuTime is the process's user plus system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
