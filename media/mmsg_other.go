//go:build !linux

package media

import (
	"errors"
	"net"
)

// newMmsgReader: recvmmsg is Linux's; elsewhere x/net's ReadBatch (one
// datagram per call on most platforms) does the reading.
func newMmsgReader(*net.UDPConn, [][]byte) (batchReader, error) {
	return nil, errors.New("media: recvmmsg is Linux only")
}
