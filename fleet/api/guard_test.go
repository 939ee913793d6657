package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/driver"
	"github.com/deskphone/deskphone/driver/drivertest"
	"github.com/deskphone/deskphone/internal/testwait"
)

type onePhone struct{ p Phone }

func (o onePhone) Phones() []Phone                { return []Phone{o.p} }
func (o onePhone) Lookup(id string) (Phone, bool) { return o.p, id == o.p.ID }

// serve starts the API of one idle phone on loopback, as deskphone run
// --api does.
func serve(t *testing.T, mod func(*Server)) (*httptest.Server, Phone) {
	t.Helper()
	clk := clock.NewFake(drivertest.Start)
	p := Phone{ID: "alice", Phone: drivertest.Phone(t, driver.Spec{Model: "t46g", Clock: clk}), Clock: clk}
	srv := httptest.NewUnstartedServer(nil)
	s := &Server{Source: onePhone{p}, Addr: srv.Listener.Addr().String()}
	if mod != nil {
		mod(s)
	}
	srv.Config.Handler = s.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, p
}

func post(t *testing.T, srv *httptest.Server, host, origin, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", srv.URL+"/v1/phones/alice/commands", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// A web page's cross-site command (issue 19, item 5): a text/plain POST
// with a foreign Origin used to get 200 and press the key; it gets 403
// and the phone never sees it. A rebound Host gets 421, a text/plain
// body 415; curl's JSON still works.
func TestRefusesCrossSiteCommands(t *testing.T) {
	srv, p := serve(t, nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	press := `{"command": "press volup"}`
	for _, tc := range []struct {
		name, host, origin, ctype string
		code                      int
		kind                      string
	}{
		{"foreign origin", "", "https://evil.example", "text/plain", 403, "cross-origin"},
		{"text/plain", "", "", "text/plain", 415, "unsupported-media-type"},
		{"rebound host", "evil.example:" + port, "", "application/json", 421, "misdirected-request"},
	} {
		code, body := post(t, srv, tc.host, tc.origin, tc.ctype, press)
		var prob Problem
		if err := json.Unmarshal([]byte(body), &prob); code != tc.code || err != nil || prob.Type != ProblemBase+tc.kind {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, body, tc.code, tc.kind)
		}
	}
	if sc := p.Phone.Screen(); strings.Contains(sc.Text(), "Volume") {
		t.Fatalf("a refused command pressed the key:\n%s", sc.Text())
	}
	if code, body := post(t, srv, "localhost:"+port, "http://localhost:"+port, "application/json", press); code != 200 || !strings.Contains(body, "Volume") {
		t.Fatalf("own origin, JSON: %d %s", code, body)
	}
}

// play wav and record reach only the folder given at start (issue 19):
// "..", absolute paths outside it and symlinks are refused, and no error
// quotes a file's bytes.
func TestFilesConfined(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "secret.txt")
	if err := os.WriteFile(outside, []byte("SECRET-CONTENT"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "files")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("PRIVATE-NOTES"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link.wav")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	srv, _ := serve(t, func(s *Server) { s.Files = root })
	for _, tc := range []struct{ command, says string }{
		{"play wav ../secret.txt", "outside"},
		{"play wav " + outside, "outside"},
		{"play wav link.wav", "symlink"},
		{"play wav notes.txt", "not a WAV file"},
		{"record ../overwritten.wav", "outside"},
		{"record " + outside, "outside"},
		{"record link.wav", "symlink"},
		{"import_ca ../secret.txt", "outside"},
	} {
		body, _ := json.Marshal(Command{Command: tc.command})
		code, out := post(t, srv, "", "", "application/json", string(body))
		if code != http.StatusUnprocessableEntity || !strings.Contains(out, tc.says) || strings.Contains(out, "SECR") || strings.Contains(out, "PRIV") {
			t.Errorf("%s: %d %s, want 422 saying %q and no content", tc.command, code, out, tc.says)
		}
	}
	if b, _ := os.ReadFile(outside); string(b) != "SECRET-CONTENT" {
		t.Fatalf("the file outside was changed: %q", b)
	}
	if _, err := os.Stat(filepath.Join(base, "overwritten.wav")); err == nil {
		t.Fatal("record wrote outside the folder")
	}
	// Without a folder given at start, no file at all.
	srv, _ = serve(t, nil)
	code, out := post(t, srv, "", "", "application/json", `{"command": "play wav notes.txt"}`)
	if code != http.StatusUnprocessableEntity || !strings.Contains(out, "no folder") {
		t.Fatalf("without a folder: %d %s", code, out)
	}
}

// Event streams are capped (issue 19): the one past MaxSubscribers gets
// 503 with Retry-After, and a closed stream frees its place.
func TestSubscribersCapped(t *testing.T) {
	srv, _ := serve(t, func(s *Server) { s.MaxSubscribers = 2 })
	ctx, cancel := context.WithTimeout(context.Background(), drivertest.Timeout)
	defer cancel()
	open := func() (*http.Response, func()) {
		t.Helper()
		sctx, scancel := context.WithCancel(ctx)
		req, _ := http.NewRequestWithContext(sctx, "GET", srv.URL+"/v1/phones/alice/events", nil)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == http.StatusOK {
			// The first event: the stream is counted by now.
			if _, err := bufio.NewReader(res.Body).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
		}
		return res, func() { scancel(); res.Body.Close() }
	}
	_, close1 := open()
	_, close2 := open()
	defer close2()
	res, close3 := open()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	close3()
	close1()
	testwait.Until(t, "a closed stream freeing its place", func() bool {
		res, closeN := open()
		closeN()
		return res.StatusCode == http.StatusOK
	})
}

// Every server of ours bounds a slow header, a slow body and an idle
// connection (issue 19): 500 of each were held for 45 s.
func TestHTTPServerBounds(t *testing.T) {
	s := HTTPServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Fatalf("unbounded: %+v", s)
	}
}
