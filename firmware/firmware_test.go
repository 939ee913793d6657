package firmware

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deskphone/deskphone/internal/labdir"
)

var t0 = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

func buildImage(t *testing.T, model, version string, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Build(&buf, Manifest{Vendor: "audiocodes", Model: model, Version: version, Built: t0}, size, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImageCheck(t *testing.T) {
	img := buildImage(t, "430hd", "UC430HD_3.4.6.537", 100_000)
	flipped := bytes.Clone(img)
	flipped[len(flipped)-10] ^= 1
	for _, tc := range []struct {
		name  string
		data  []byte
		model string
		want  error
	}{
		{"good", img, "430hd", nil},
		{"other model", img, "c450hd", ErrWrongModel},
		{"truncated", img[:len(img)-1], "430hd", ErrTruncated},
		{"header only", img[:8], "430hd", ErrTruncated},
		{"altered", flipped, "430hd", ErrCorrupt},
		{"too long", append(bytes.Clone(img), 0), "430hd", ErrCorrupt},
		{"garbage", []byte("<html>not found</html>"), "430hd", ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Check(bytes.NewReader(tc.data), tc.model)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Check = %v, want %v", err, tc.want)
			}
			if tc.want == nil && m.Version != "UC430HD_3.4.6.537" {
				t.Fatalf("manifest version %q", m.Version)
			}
		})
	}
}

func TestBuildIsDeterministic(t *testing.T) {
	a := buildImage(t, "430hd", "v1", 5000)
	b := buildImage(t, "430hd", "v1", 5000)
	c := buildImage(t, "430hd", "v2", 5000)
	if !bytes.Equal(a, b) || bytes.Equal(a[len(a)-5000:], c[len(c)-5000:]) {
		t.Fatal("payload must depend on model and version alone")
	}
}

// server serves a repository's metadata (or a frozen copy) and its images.
type server struct {
	repo   *Repo
	frozen map[string][]byte
	now    time.Time
	images map[string][]byte
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/meta/")
	if strings.HasPrefix(r.URL.Path, "/img/") {
		b, ok := s.images[strings.TrimPrefix(r.URL.Path, "/img/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
		return
	}
	b, ok := s.frozen[name]
	if s.frozen == nil {
		b, ok = s.repo.Metadata(name, s.now)
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(b)
}

func newServer(t *testing.T) (*server, *httptest.Server) {
	t.Helper()
	repo, err := NewRepo(nil, "test-1", t0)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{repo: repo, now: t0, images: map[string][]byte{}}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return s, hs
}

func (s *server) publish(t *testing.T, model, version string) []byte {
	t.Helper()
	img := buildImage(t, model, version, 50_000)
	m, err := ReadManifest(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(img)
	if err := s.repo.AddTarget(TargetName(model, version), int64(len(img)), sum[:], m, s.now); err != nil {
		t.Fatal(err)
	}
	s.images[TargetName(model, version)] = img
	return img
}

func client(t *testing.T, hs *httptest.Server, dir string, now time.Time) Client {
	t.Helper()
	root, err := LabRoot(nil, "test-1")
	if err != nil {
		t.Fatal(err)
	}
	return Client{Root: root, MetadataURL: hs.URL + "/meta/", Dir: dir, Now: now}
}

func TestClientVerifiesAndDownloads(t *testing.T) {
	s, hs := newServer(t)
	img := s.publish(t, "430hd", "3.4.6.537")
	dir := t.TempDir()
	tf, m, err := client(t, hs, dir, t0.Add(time.Hour)).Target(TargetName("430hd", "3.4.6.537"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Model != "430hd" || tf.Length != int64(len(img)) {
		t.Fatalf("target %+v manifest %+v", tf, m)
	}
	path := filepath.Join(dir, "img")
	// A partial file from an interrupted download is resumed.
	if err := os.WriteFile(path, img[:1000], 0o600); err != nil {
		t.Fatal(err)
	}
	var last int64
	if err := Download(t.Context(), nil, hs.URL+"/img/"+TargetName("430hd", "3.4.6.537"), path, tf, -1, func(d, _ int64) { last = d }); err != nil {
		t.Fatal(err)
	}
	if last != tf.Length {
		t.Fatalf("progress ended at %d of %d", last, tf.Length)
	}
	// An altered image fails the signed hash, a tiny disk the space check.
	s.images[TargetName("430hd", "3.4.6.537")][100] ^= 1
	os.Remove(path)
	err = Download(t.Context(), nil, hs.URL+"/img/"+TargetName("430hd", "3.4.6.537"), path, tf, -1, nil)
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("altered image: %v", err)
	}
	os.Remove(path)
	err = Download(t.Context(), nil, hs.URL+"/img/"+TargetName("430hd", "3.4.6.537"), path, tf, 100, nil)
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("full disk: %v", err)
	}
}

func TestClientRefusesAttacks(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *server, seen func()) time.Time // returns the phone's time
		want  string
	}{
		{"freeze: expired timestamp", func(t *testing.T, s *server, _ func()) time.Time {
			s.frozen = s.repo.Freeze()
			return t0.Add(3 * 24 * time.Hour)
		}, "expired"},
		{"rollback: older timestamp", func(t *testing.T, s *server, seen func()) time.Time {
			old := s.repo.Freeze()
			s.publish(t, "430hd", "3.5.0.1")
			seen()
			s.frozen = old
			return t0.Add(time.Hour)
		}, "version"},
		{"wrong signature", func(t *testing.T, s *server, _ func()) time.Time {
			other, err := NewRepo(nil, "intruder", t0)
			if err != nil {
				t.Fatal(err)
			}
			s.repo = other
			return t0.Add(time.Hour)
		}, "signature"},
		// The same root name in another installation's lab directory: an
		// update service anyone runs signs for "test-1" with its own keys.
		{"another installation", func(t *testing.T, s *server, _ func()) time.Time {
			other, err := labdir.Open(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			if s.repo, err = NewRepo(other, "test-1", t0); err != nil {
				t.Fatal(err)
			}
			return t0.Add(time.Hour)
		}, "signature"},
		// Keys derived from public strings, as every lab root once was.
		{"keys from public strings", func(t *testing.T, s *server, _ func()) time.Time {
			keys := Keys{}
			for _, r := range roles {
				seed := sha256.Sum256([]byte("deskphone lab update root test-1 " + r))
				keys[r] = ed25519.NewKeyFromSeed(seed[:])
			}
			root, err := newRoot(1, keys)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := signRoot(root, keys)
			if err != nil {
				t.Fatal(err)
			}
			s.repo.keys, s.repo.root, s.repo.roots = keys, root, [][]byte{signed}
			s.repo.files["1.root.json"] = signed
			if err := s.repo.publish(t0, true); err != nil {
				t.Fatal(err)
			}
			return t0.Add(time.Hour)
		}, "signature"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, hs := newServer(t)
			s.publish(t, "430hd", "3.4.6.537")
			dir := t.TempDir()
			seen := func() {
				if _, _, err := client(t, hs, dir, t0.Add(time.Minute)).Target(TargetName("430hd", "3.5.0.1")); err != nil {
					t.Fatal(err)
				}
			}
			now := tc.setup(t, s, seen)
			_, _, err := client(t, hs, dir, now).Target(TargetName("430hd", "3.4.6.537"))
			if !errors.Is(err, ErrUntrusted) || !strings.Contains(strings.ToLower(err.Error()), tc.want) {
				t.Fatalf("Target = %v, want untrusted (%q)", err, tc.want)
			}
		})
	}
}

func TestRootRotationFollowedFromOldRoot(t *testing.T) {
	s, hs := newServer(t)
	s.publish(t, "430hd", "3.4.6.537")
	if err := s.repo.RotateRoot("test-2", t0); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, _, err := client(t, hs, dir, t0.Add(time.Hour)).Target(TargetName("430hd", "3.4.6.537")); err != nil {
		t.Fatalf("a phone trusting the old root: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "root.json"))
	if err != nil || !strings.Contains(string(b), `"version":2`) {
		t.Fatalf("root kept after rotation: %v %.80s", err, b)
	}
}
