package phone_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/deskphone/deskphone/backend"
	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// BenchmarkRegisterTLS boots N phones in one process against the mock cloud
// and measures how fast they all register: a TLS handshake, a 401 and a
// REGISTER with digest each. It reports registrations per second.
func BenchmarkRegisterTLS(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("phones=%d", n), func(b *testing.B) {
			cat, _ := catalog.Builtin()
			m, _ := cat.Model("c450hd")
			cl, err := backend.New(backend.Config{Listen: []string{"tls:127.0.0.1:0"}, StateDir: b.TempDir(), Clock: cloudClock()})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := cl.Start(ctx); err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			for i := 0; i < n; i++ {
				if err := cl.AddUser(backend.User{User: fmt.Sprintf("load%d", i), Password: "secret"}); err != nil {
					b.Fatal(err)
				}
			}
			var total time.Duration
			b.ResetTimer()
			for iter := 0; iter < b.N; iter++ {
				b.StopTimer()
				phones := make([]*phone.Phone, n)
				for i := range phones {
					p, err := phone.New(m, "", phone.WithClock(clock.NewFake(start)), phone.WithStateDir(b.TempDir()),
						phone.WithAccount(statedir.Account{Server: "sips:" + cl.Addr("tls"), User: fmt.Sprintf("load%d", i), Password: "secret", Domain: cl.Domain()}))
					if err != nil {
						b.Fatal(err)
					}
					phones[i] = p
				}
				b.StartTimer()
				t0 := time.Now()
				for _, p := range phones {
					p.Start(context.Background())
				}
				for _, p := range phones {
					for {
						if registered(p) {
							break
						}
						if time.Since(t0) > time.Minute {
							b.Fatalf("not registered after a minute: %s", p.Screen().Text())
						}
						time.Sleep(time.Millisecond)
					}
				}
				total += time.Since(t0)
				b.StopTimer()
				for _, p := range phones {
					p.Close()
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/total.Seconds(), "registrations/s")
		})
	}
}

func registered(p *phone.Phone) bool {
	st, _ := p.Status()
	for _, kv := range st {
		if kv[0] == "registered" {
			return kv[1] == "yes"
		}
	}
	return false
}
