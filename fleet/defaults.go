package fleet

// The pacing of a start that neither the fleet file nor the command line
// sets: fast enough for a thousand phones in two seconds, spread so that
// their handshakes do not arrive in lockstep.
const (
	DefaultRate   = 500
	DefaultJitter = 0.5
)

// Pace settles the pacing of c's start: rate and jitter given on the
// command line (negative when not given) win over the file's; what
// neither sets is the default. A file's rate of 0 reads as not set; the
// command line's 0 means no pacing.
func (c *Config) Pace(rate, jitter float64) {
	switch {
	case rate >= 0:
		c.Rate = rate
	case c.Rate == 0:
		c.Rate = DefaultRate
	}
	switch {
	case jitter >= 0:
		c.Jitter = jitter
	case c.Jitter == 0:
		c.Jitter = DefaultJitter
	}
}
