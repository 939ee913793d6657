package fleet

import "testing"

// The command line wins over the file, the file over the defaults; a
// file's 0 is not set, the command line's 0 is no pacing.
func TestPace(t *testing.T) {
	tests := []struct {
		name                 string
		file                 Config
		rate, jitter         float64
		wantRate, wantJitter float64
	}{
		{"nothing set", Config{}, -1, -1, DefaultRate, DefaultJitter},
		{"the file's", Config{Rate: 50, Jitter: 0.1}, -1, -1, 50, 0.1},
		{"the flags'", Config{Rate: 50, Jitter: 0.1}, 20, 0.9, 20, 0.9},
		{"flags of 0", Config{Rate: 50, Jitter: 0.1}, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.file
			c.Pace(tt.rate, tt.jitter)
			if c.Rate != tt.wantRate || c.Jitter != tt.wantJitter {
				t.Errorf("rate %v jitter %v, want %v %v", c.Rate, c.Jitter, tt.wantRate, tt.wantJitter)
			}
		})
	}
}
