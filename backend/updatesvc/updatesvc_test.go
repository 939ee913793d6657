package updatesvc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/firmware"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func describe(model, version string) (firmware.Manifest, error) {
	if model != "430hd" {
		return firmware.Manifest{}, fmt.Errorf("unknown model %q", model)
	}
	return firmware.Manifest{Vendor: "audiocodes", Traits: firmware.Traits{FactoryRoots: []string{"lab-2019"}}}, nil
}

func newService(t *testing.T, size int64) (*Service, *Server) {
	t.Helper()
	s, err := New(Config{Dir: t.TempDir(), Clock: clock.NewFake(t0), Describe: describe, ImageSize: size})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return s, srv
}

func check(t *testing.T, srv *Server, req CheckRequest) CheckResponse {
	t.Helper()
	body, _ := json.Marshal(req)
	res, err := http.Post(srv.URL()+CheckPath, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out CheckResponse
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRules(t *testing.T) {
	s, srv := newService(t, 10_000)
	if err := s.Approve("430hd", "UC430HD_3.4.6.537"); err != nil {
		t.Fatal(err)
	}
	if err := s.Pending("430hd", "UC430HD_3.5.0.1", []string{"00:90:8F:00:00:01"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Approve("vvx501", "5.5.1"); err == nil {
		t.Fatal("approving a model the catalog does not know must fail")
	}
	for _, tc := range []struct{ mac, want string }{
		{"00:90:8f:00:00:01", "UC430HD_3.5.0.1"},
		{"00:90:8f:00:00:02", "UC430HD_3.4.6.537"},
	} {
		got := check(t, srv, CheckRequest{Model: "430hd", MAC: tc.mac})
		if got.Version != tc.want || got.Length == 0 || got.Source != "update service" {
			t.Errorf("check from %s = %+v, want %s", tc.mac, got, tc.want)
		}
	}
	if err := s.Restore("430hd", "UC430HD_3.2.1.580"); err != nil {
		t.Fatal(err)
	}
	if got := check(t, srv, CheckRequest{Model: "430hd", MAC: "x"}); got.Version != "UC430HD_3.2.1.580" {
		t.Errorf("restore: %+v", got)
	}
	if got := check(t, srv, CheckRequest{Model: "t46g"}); got.Version != "" {
		t.Errorf("no rule: %+v", got)
	}
}

func TestPhoneFetchesAndVerifies(t *testing.T) {
	s, srv := newService(t, 200_000)
	if err := s.Approve("430hd", "UC430HD_3.4.6.537"); err != nil {
		t.Fatal(err)
	}
	res := check(t, srv, CheckRequest{Model: "430hd"})
	root, err := firmware.LabRoot(nil, "audiocodes-1")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := firmware.Client{Root: root, MetadataURL: srv.URL() + res.MetadataURL, Dir: dir, Now: t0.Add(time.Hour)}
	tf, m, err := c.Target(res.Target)
	if err != nil {
		t.Fatal(err)
	}
	if m.Traits.FactoryRoots[0] != "lab-2019" {
		t.Errorf("manifest %+v", m)
	}
	path := filepath.Join(dir, "image")
	if err := firmware.Download(t.Context(), nil, srv.URL()+res.ImageURL, path, tf, -1, nil); err != nil {
		t.Fatal(err)
	}
	s.SetDown(true)
	if _, _, err := c.Target(res.Target); !errors.Is(err, firmware.ErrUntrusted) {
		t.Fatalf("service down: %v", err)
	}
}

// An image whose manifest names a path instead of a model or version is
// refused at publish, and nothing lands outside the store: the probe that
// wrote p/...img beside the service's folder. A good image still lands.
func TestPublishStaysInItsStore(t *testing.T) {
	s, srv := newService(t, 1024)
	forged := func(model, version string) []byte {
		// A sound image (an empty payload with its hash) but for its names.
		m := firmware.Manifest{Format: firmware.Format, Vendor: "audiocodes", Model: model, Version: version,
			PayloadSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}
		mb, _ := json.Marshal(m)
		var b bytes.Buffer
		b.WriteString(firmware.Magic)
		n := len(mb)
		b.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
		b.Write(mb)
		return b.Bytes()
	}
	outside := filepath.Dir(s.cfg.Dir)
	for _, tc := range []struct{ model, version string }{
		{"../../p", "1.0"}, // from images/, beside the store
		{"430hd", "../../escape"},
		{"/abs", "1.0"},
		{"430hd", "1.0/../../x"},
		{"..", "1.0"},
		{"430hd", "a b"},
	} {
		res, err := http.Post(srv.URL()+"/admin/firmware/publish", "application/octet-stream", bytes.NewReader(forged(tc.model, tc.version)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "not a plain name") {
			t.Errorf("publish %q %q: %d %s, want 400 naming the bad name", tc.model, tc.version, res.StatusCode, body)
		}
	}
	found, _ := filepath.Glob(filepath.Join(outside, "*"))
	for _, f := range found {
		if f != s.cfg.Dir {
			t.Errorf("publish wrote %s outside the store", f)
		}
	}
	var img bytes.Buffer
	if _, err := firmware.Build(&img, firmware.Manifest{Vendor: "audiocodes", Model: "430hd", Version: "3.4.6.537"}, 1024, nil); err != nil {
		t.Fatal(err)
	}
	m, err := s.Publish(&img)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.cfg.Dir, "images", "430hd", "3.4.6.537.img")); err != nil || m.TargetName() != "430hd/3.4.6.537.img" {
		t.Fatalf("a good image: %v, %s", err, m.TargetName())
	}
	left, _ := filepath.Glob(filepath.Join(s.cfg.Dir, "images", "publish-*"))
	if len(left) != 0 {
		t.Fatalf("temporaries left: %v", left)
	}
}

// A web page's cross-site requests to the admin API (issue 19, item 5): a
// text/plain approve with a foreign Origin used to get 200 and change the
// rules; it gets 403 and changes nothing. A text/plain body without an
// Origin gets 415, a rebound Host 421; curl's JSON still works.
func TestAdminRefusesCrossSiteRequests(t *testing.T) {
	s, srv := newService(t, 10_000)
	before, _ := json.Marshal(s.Rules())
	approve := `{"model":"430hd","version":"UC430HD_3.4.6.537"}`
	post := func(host, origin, ctype, verb, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL()+"/admin/firmware/"+verb, strings.NewReader(body))
		if host != "" {
			req.Host = host
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		req.Header.Set("Content-Type", ctype)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, host, origin, ctype, verb string
		code                            int
	}{
		{"foreign origin", "", "https://evil.example", "text/plain", "approve", 403},
		{"text/plain", "", "", "text/plain", "approve", 415},
		{"publish as a form", "", "", "application/x-www-form-urlencoded", "publish", 415},
		{"rebound host", "evil.example" + srv.Addr()[strings.LastIndex(srv.Addr(), ":"):], "", "application/json", "approve", 421},
	} {
		if code, body := post(tc.host, tc.origin, tc.ctype, tc.verb, approve); code != tc.code || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.code)
		}
	}
	if after, _ := json.Marshal(s.Rules()); !bytes.Equal(before, after) {
		t.Fatalf("a refused request changed the rules: %s", after)
	}
	if code, body := post("", "", "application/json", "approve", approve); code != http.StatusOK {
		t.Fatalf("curl's approve: %d %s", code, body)
	}
}

// The service bounds a slow header, a slow body and an idle connection
// (issue 19).
func TestServerBounds(t *testing.T) {
	_, srv := newService(t, 1024)
	if s := srv.srv; s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.IdleTimeout <= 0 || s.MaxHeaderBytes <= 0 {
		t.Fatalf("unbounded: read header %v, read %v, idle %v", s.ReadHeaderTimeout, s.ReadTimeout, s.IdleTimeout)
	}
}

// Issue 19 (low): publish took up to 16 GiB. The probe: a sound image over
// the limit, sent with its length and streamed without one, is refused
// with 413 and leaves nothing behind; one within the limit lands.
func TestPublishIsCapped(t *testing.T) {
	s, err := New(Config{Dir: t.TempDir(), Clock: clock.NewFake(t0), Describe: describe, MaxPublish: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	image := func(version string, size int64) []byte {
		var b bytes.Buffer
		if _, err := firmware.Build(&b, firmware.Manifest{Vendor: "audiocodes", Model: "430hd", Version: version}, size, nil); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	big := image("9.9.9", 256<<10)
	for _, tc := range []struct {
		name string
		body io.Reader
	}{
		{"with a length", bytes.NewReader(big)},
		{"streamed", io.MultiReader(bytes.NewReader(big))}, // no length: chunked
	} {
		res, err := http.Post(srv.URL()+"/admin/firmware/publish", "application/octet-stream", tc.body)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "too large") {
			t.Errorf("%s: a 256 KiB image under a 64 KiB limit: %d %s", tc.name, res.StatusCode, body)
		}
	}
	if _, err := s.Publish(bytes.NewReader(big)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Publish over the limit: %v, want ErrTooLarge", err)
	}
	left, _ := filepath.Glob(filepath.Join(s.cfg.Dir, "images", "*"))
	if len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
	res, err := http.Post(srv.URL()+"/admin/firmware/publish", "application/octet-stream", bytes.NewReader(image("3.4.6.537", 32<<10)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("an image within the limit: %d", res.StatusCode)
	}

	for _, tc := range []struct{ size, want int64 }{
		{0, DefaultMaxPublish},
		{100 << 20, 101 << 20},
	} {
		s, err := New(Config{Dir: t.TempDir(), ImageSize: tc.size})
		if err != nil {
			t.Fatal(err)
		}
		if s.cfg.MaxPublish != tc.want {
			t.Errorf("image size %d: limit %d, want %d", tc.size, s.cfg.MaxPublish, tc.want)
		}
	}
}
