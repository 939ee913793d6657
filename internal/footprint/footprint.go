// Package footprint bounds what each SIP connection costs, so that one
// process can run thousands of phones, or a cloud can serve them.
//
// sipgo sizes the read buffer of every connection from one process-wide
// variable, 32 KiB by default: most of an idle phone's memory, and as much
// again on the cloud's side of each connection. Importing this package sets
// it once, during program initialisation, before any connection reads; the
// phone's UA (phone/sipua) and the cloud (backend) both import it, so every
// program built on either gets the same setting.
package footprint

import "github.com/emiago/sipgo/sip"

// ReadBufferSize is the read buffer of every SIP connection. The TCP and
// TLS stream parser assembles a message across reads, so there it is only
// the chunk size. A UDP datagram longer than it is cut short and dropped as
// unparsable; RFC 3261 (18.1.1) keeps UDP requests under the path MTU by
// moving larger ones to a congestion-controlled transport, and 4 KiB leaves
// room for every message the phones and the cloud exchange.
const ReadBufferSize = 4096

func init() { sip.TransportBufferReadSize = ReadBufferSize }
