package main

import (
	"fmt"
	"io"

	"github.com/deskphone/deskphone/internal/capture"
	"github.com/deskphone/deskphone/media"
)

// pcapUsage is the --pcap line of each command's help.
const pcapUsage = `  --pcap FILE         write a pcapng capture to FILE (mode 0600): every SIP
                      message in plain text on its real addresses and ports,
                      every RTP packet decrypted, SDP rewritten to plain RTP;
                      no key is written (Wireshark: Telephony > VoIP Calls)
`

// openPcap creates the --pcap file. A write error is reported once on
// stderr and ends the capture, not the run.
func openPcap(path string, stderr io.Writer) (*capture.Writer, error) {
	w, err := capture.Create(path, capture.WithErrorHandler(func(err error) {
		fmt.Fprintf(stderr, "deskphone: --%v\n", err)
	}))
	if err != nil {
		return nil, fmt.Errorf("--%w", err)
	}
	return w, nil
}

// tapOf is w as a media.Tap: nil (no tap at all) when there is no capture.
func tapOf(w *capture.Writer) media.Tap {
	if w == nil {
		return nil
	}
	return w
}
