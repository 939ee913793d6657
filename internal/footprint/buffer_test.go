package footprint_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/footprint"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// TestReadBufferSet checks that importing the package sized sipgo's buffers.
func TestReadBufferSet(t *testing.T) {
	if got := sip.TransportBufferReadSize; got != footprint.ReadBufferSize {
		t.Fatalf("sip.TransportBufferReadSize = %d, want %d", got, footprint.ReadBufferSize)
	}
}

// TestStreamMessageLongerThanReadBuffer sends a message several buffers long
// over TCP: the stream parser must assemble it across reads.
func TestStreamMessageLongerThanReadBuffer(t *testing.T) {
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		got <- append([]byte(nil), req.Body()...)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go srv.ServeTCP(l)

	cua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer cua.Close()
	client, err := sipgo.NewClient(cua)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 3*footprint.ReadBufferSize/16+7)
	addr := l.Addr().(*net.TCPAddr)
	req := sip.NewRequest(sip.MESSAGE, sip.Uri{User: "big", Host: addr.IP.String(), Port: addr.Port, UriParams: sip.NewParams()})
	req.SetTransport("TCP")
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain"))
	req.SetBody(body)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := client.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("answer %d, want 200", res.StatusCode)
	}
	select {
	case b := <-got:
		if !bytes.Equal(b, body) {
			t.Fatalf("body arrived with %d bytes, sent %d", len(b), len(body))
		}
	case <-ctx.Done():
		t.Fatal("message never reached the server")
	}
}
