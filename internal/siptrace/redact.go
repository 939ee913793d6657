package siptrace

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/deskphone/deskphone/internal/atomicfile"
)

// Traces hold what an attacker on the wire would want: digest responses
// (enough for an offline password guess) and SDES master keys (enough to
// decrypt the calls' SRTP). Redact removes them, keeping the rest of each
// header so a trace still shows who authenticated with which scheme.
var (
	digestSecret = regexp.MustCompile(`(?i)\b(response|cnonce)(\s*=\s*)("[^"]*"|[^,\s]*)`)
	sdesKey      = regexp.MustCompile(`(?i)(inline:)[^|\s;]+`)
	// bearerToken is an RFC 8898 access token: whoever holds it is the user
	// until it expires.
	bearerToken = regexp.MustCompile(`(?i)(:\s*Bearer\s+)\S+`)
)

// Redacted stands in for a removed secret.
const Redacted = "<redacted>"

// Redact returns msg (one SIP message, or a trace of several) with the
// response and cnonce of every Authorization and Proxy-Authorization
// header, the token of a Bearer one, and the key material of every SDES "inline:" key, replaced by
// Redacted. The scheme, user name, realm and URI stay.
func Redact(msg []byte) []byte {
	lines := bytes.SplitAfter(msg, []byte("\n"))
	for i, line := range lines {
		if isCredentials(line) {
			line = digestSecret.ReplaceAll(line, []byte(`${1}${2}"`+Redacted+`"`))
			line = bearerToken.ReplaceAll(line, []byte("${1}"+Redacted))
		}
		if bytes.Contains(bytes.ToLower(line), []byte("inline:")) {
			line = sdesKey.ReplaceAll(line, []byte("${1}"+Redacted))
		}
		lines[i] = line
	}
	return bytes.Join(lines, nil)
}

// isCredentials reports whether line is an Authorization or
// Proxy-Authorization header.
func isCredentials(line []byte) bool {
	name, _, ok := bytes.Cut(line, []byte(":"))
	if !ok {
		return false
	}
	name = bytes.TrimSpace(name)
	return bytes.EqualFold(name, []byte("Authorization")) || bytes.EqualFold(name, []byte("Proxy-Authorization"))
}

// OpenFile creates (or truncates) a trace file readable by its owner
// only, as it holds call metadata and, with secrets, credentials and
// media keys. An existing file is written only if it is this user's own
// regular file with mode 0600 (a symbolic link or a file someone else
// planted is refused: atomicfile.OpenPrivate). Without secrets every
// message is passed through Redact. Close the returned File when done.
func OpenFile(path string, secrets bool) (*File, error) {
	f, err := atomicfile.OpenPrivate(path, true)
	if err != nil {
		return nil, fmt.Errorf("sip trace: %w", err)
	}
	return &File{w: f, closer: f, redact: !secrets}, nil
}
