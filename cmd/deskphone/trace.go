package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sipTrace writes every SIP message the process reads or writes, with time
// and direction. sipgo's tracer is process-wide, which is what a trace of
// one `deskphone run` wants.
type sipTrace struct {
	mu sync.Mutex
	w  io.Writer
}

func traceSIP(w io.Writer) {
	sip.SIPDebug = true
	sip.SIPDebugTracer(&sipTrace{w: w})
}

func (t *sipTrace) SIPTraceRead(transport, laddr, raddr string, msg []byte) {
	t.write("recv", transport, raddr, laddr, msg)
}

func (t *sipTrace) SIPTraceWrite(transport, laddr, raddr string, msg []byte) {
	t.write("send", transport, laddr, raddr, msg)
}

func (t *sipTrace) write(dir, transport, from, to string, msg []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "%s %s %s %s -> %s (%d bytes)\n%s\n\n",
		time.Now().Format("2006-01-02T15:04:05.000000Z07:00"), dir, transport, from, to, len(msg), msg)
}
