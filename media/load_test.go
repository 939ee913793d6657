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
// with -benchtime=1x. BenchmarkLoad runs the same beside the bare loop.
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

// BenchmarkLoad is the engine against its reference, in one process and
// one run, so that every figure is a comparison on one machine at one
// moment (issue 23): for each load, first the bare SRTP loop of
// bare_test.go (shared sockets, sendmmsg and recvmmsg, nothing but
// header, protect, send; receive, unprotect, count), then the engine
// (engineLoad). Each row reports cpu% (of one core), jitter-p99-ms (RFC
// 3550 A.8, both computed the same way), loss% and pkt/s/dir (packets per
// second per stream, 50 wanted); the engine's row adds cpu-ratio, its CPU
// over the bare loop's just before. With -count=N the two alternate.
// make bench runs it with -benchtime=1x.
func BenchmarkLoad(b *testing.B) {
	loads := []struct {
		codec codecs.Codec
		calls int
	}{
		{codecs.PCMU, 100}, {codecs.PCMU, 500}, {codecs.PCMU, 1000}, {codecs.PCMU, 2000},
		{codecs.G722, 1000},
	}
	for _, load := range loads {
		b.Run(fmt.Sprintf("%v/calls=%d", load.codec, load.calls), func(b *testing.B) {
			var bare loadResult
			b.Run("bare", func(b *testing.B) {
				for range b.N {
					bare = bareLoad(b, load.codec, load.calls)
				}
				bare.report(b)
			})
			b.Run("engine", func(b *testing.B) {
				var r loadResult
				for range b.N {
					r = engineLoad(b, load.codec, load.calls)
				}
				r.report(b)
				if bare.cpu > 0 {
					b.ReportMetric(r.cpu/bare.cpu, "cpu-ratio")
				}
			})
		})
	}
}

// loadResult is what one load run measured over its window.
type loadResult struct {
	cpu    float64 // process CPU, % of one core
	loss   float64 // %
	jitter float64 // 99th percentile of the streams' jitter, ms
	pps    float64 // packets/s per stream
}

func (r loadResult) report(b *testing.B) {
	b.ReportMetric(r.cpu, "cpu%")
	b.ReportMetric(r.loss, "loss%")
	b.ReportMetric(r.jitter, "jitter-p99-ms")
	b.ReportMetric(r.pps, "pkt/s/dir")
}

func runLoad(b *testing.B, codec codecs.Codec, calls int) {
	engineLoad(b, codec, calls).report(b)
}

// engineLoad runs calls calls in one engine and measures them, the
// engine closed before it returns so that the next run has the machine.
func engineLoad(b *testing.B, codec codecs.Codec, calls int) loadResult {
	b.StopTimer()
	e, err := NewEngine(Config{SRTP: Mandatory, Codecs: []codecs.Codec{codec}})
	if err != nil {
		b.Fatalf("NewEngine: %v", err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			b.Errorf("Engine.Close: %v", err)
		}
	}()
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
	if authFailed+bad != 0 {
		b.Errorf("auth failures %d, bad packets %d under load", authFailed, bad)
	}
	return loadResult{
		cpu:    100 * float64(cpu1-cpu0) / float64(elapsed),
		loss:   100 * float64(lost) / float64(max(sent, 1)),
		jitter: jitter[len(jitter)*99/100],
		pps:    float64(sent) / elapsed.Seconds() / float64(2*calls),
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
