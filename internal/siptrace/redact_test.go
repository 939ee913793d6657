package siptrace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secretMsg = "INVITE sip:bob@deskphone.test SIP/2.0\r\n" +
	"Proxy-Authorization: Digest username=\"alice\", realm=\"deskphone.test\", nonce=\"abc\", uri=\"sip:bob@deskphone.test\", response=\"0123456789abcdef\", algorithm=MD5, cnonce=\"c0ffee\", qop=auth, nc=00000001\r\n" +
	"authorization: Digest username=\"alice\",response=feedface,realm=\"deskphone.test\"\r\n" +
	"Content-Type: application/sdp\r\n" +
	"\r\n" +
	"v=0\r\n" +
	"a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\n" +
	"a=crypto:2 AES_CM_128_HMAC_SHA1_32 INLINE:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj\r\n"

func TestRedact(t *testing.T) {
	got := string(Redact([]byte(secretMsg)))
	for _, secret := range []string{"0123456789abcdef", "c0ffee", "feedface", "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz", "NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj"} {
		if strings.Contains(got, secret) {
			t.Errorf("secret %q left in:\n%s", secret, got)
		}
	}
	for _, kept := range []string{
		`Proxy-Authorization: Digest username="alice", realm="deskphone.test"`,
		`response="` + Redacted + `"`,
		`inline:` + Redacted + `|2^20|1:4`,
		"INLINE:" + Redacted + "\r\n",
		"INVITE sip:bob@deskphone.test SIP/2.0\r\n",
		"Content-Type: application/sdp\r\n\r\nv=0\r\n",
	} {
		if !strings.Contains(got, kept) {
			t.Errorf("redacted message lacks %q:\n%s", kept, got)
		}
	}
	plain := "REGISTER sip:deskphone.test SIP/2.0\r\nWWW-Authenticate: Digest nonce=\"n\"\r\n\r\n"
	if got := string(Redact([]byte(plain))); got != plain {
		t.Errorf("message without secrets changed:\n%s", got)
	}
}

func TestOpenFile(t *testing.T) {
	for _, tt := range []struct {
		name    string
		secrets bool
	}{{"redacted", false}, {"secrets", true}} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "sip.trace")
			// A trace of an older run (ours, 0600) is started afresh.
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := OpenFile(path, tt.secrets)
			if err != nil {
				t.Fatal(err)
			}
			f.Trace(Message{Text: secretMsg})
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if mode := st.Mode().Perm(); mode != 0o600 {
				t.Errorf("mode %v, want 0600", mode)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if has := strings.Contains(string(data), "0123456789abcdef"); has != tt.secrets {
				t.Errorf("digest response in trace: %v, want %v", has, tt.secrets)
			}
			if strings.HasPrefix(string(data), "old") {
				t.Error("old content kept")
			}
		})
	}
}

// A trace file is never written through a planted symbolic link, nor into
// a file that others can read (a world-readable file pre-created by
// another user, or one of ours with a loose mode): the trace holds call
// metadata and, with secrets, credentials. The file is left untouched.
// (Issue 19, low.)
func TestOpenFileRefusesPlantedFiles(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	if err := os.WriteFile(target, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.trace")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose.trace")
	if err := os.WriteFile(loose, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{link, loose} {
		f, err := OpenFile(path, true)
		if err == nil {
			f.Trace(Message{Text: secretMsg})
			f.Close()
			t.Errorf("OpenFile(%s) accepted", path)
		}
	}
	for _, path := range []string{target, loose} {
		if data, err := os.ReadFile(path); err != nil || string(data) != "precious" {
			t.Errorf("%s was written: %q %v", path, data, err)
		}
	}
}

// An RFC 8898 access token is a credential: it goes, the scheme stays.
func TestRedactBearer(t *testing.T) {
	msg := "REGISTER sip:deskphone.test SIP/2.0\r\nAuthorization: Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln\r\n\r\n"
	got := string(Redact([]byte(msg)))
	if strings.Contains(got, "eyJ") || !strings.Contains(got, "Authorization: Bearer "+Redacted) {
		t.Fatalf("bearer token not redacted:\n%s", got)
	}
}
