package sdp

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/srtp/v3"
)

// Suite is an SDES crypto-suite: its name as written in a=crypto, the
// sizes of its master key and salt, and the pion/srtp protection profile
// that implements it. Suites are values so that adding one is a line in
// [suiteTable], not a new code path.
type Suite struct {
	// Name is the suite's registered name (RFC 4568 §6.2, RFC 6188
	// §7.1, RFC 7714 §14.2), e.g. "AES_CM_128_HMAC_SHA1_80".
	Name    string
	KeyLen  int // master key, bytes
	SaltLen int // master salt, bytes
	// Profile is the pion/srtp profile that protects packets with this
	// suite's keys.
	Profile srtp.ProtectionProfile
}

// DefaultSuite is the suite offered when a policy names none: the one
// every SDES implementation has, and the only one Skype for Business and
// Teams offer.
const DefaultSuite = "AES_CM_128_HMAC_SHA1_80"

// suiteTable lists the suites this package negotiates, in our order of
// preference. It is a function rather than a variable so nobody can
// change the table at run time.
func suiteTable() []Suite {
	return []Suite{
		{Name: "AES_CM_128_HMAC_SHA1_80", KeyLen: 16, SaltLen: 14, Profile: srtp.ProtectionProfileAes128CmHmacSha1_80},
		{Name: "AES_CM_128_HMAC_SHA1_32", KeyLen: 16, SaltLen: 14, Profile: srtp.ProtectionProfileAes128CmHmacSha1_32},
		{Name: "AEAD_AES_128_GCM", KeyLen: 16, SaltLen: 12, Profile: srtp.ProtectionProfileAeadAes128Gcm},
		{Name: "AEAD_AES_256_GCM", KeyLen: 32, SaltLen: 12, Profile: srtp.ProtectionProfileAeadAes256Gcm},
		{Name: "AES_256_CM_HMAC_SHA1_80", KeyLen: 32, SaltLen: 14, Profile: srtp.ProtectionProfileAes256CmHmacSha1_80},
		{Name: "AES_256_CM_HMAC_SHA1_32", KeyLen: 32, SaltLen: 14, Profile: srtp.ProtectionProfileAes256CmHmacSha1_32},
	}
}

// Suites returns the names of the suites this package negotiates, in
// preference order.
func Suites() []string {
	var names []string
	for _, s := range suiteTable() {
		names = append(names, s.Name)
	}
	return names
}

// LookupSuite finds a suite by name, ignoring case. Suites this package
// does not implement (F8_128_HMAC_SHA1_80, AES_192_CM_..., vendor ones)
// are not found.
func LookupSuite(name string) (Suite, bool) {
	for _, s := range suiteTable() {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Suite{}, false
}

// Crypto is one a=crypto attribute (RFC 4568 §9.1) with a single inline
// key, the form every desk phone sends:
//
//	a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<base64 key||salt>|2^31|1:1
//
// (Microsoft's form, with a key lifetime and a one-byte MKI of 1).
type Crypto struct {
	// Tag identifies the line in an offer; the answer repeats the tag of
	// the line it accepts.
	Tag int
	// Suite is the crypto-suite name as written, e.g. DefaultSuite.
	Suite string
	// KeySalt is the master key followed by the master salt.
	KeySalt []byte
	// Lifetime is the key's lifetime in packets, "2^31" or a decimal
	// number; "" when absent.
	Lifetime string
	// MKI and MKILength are the master key identifier and its size in
	// bytes (1-4 here); MKILength 0 means the packets carry no MKI.
	MKI, MKILength int
	// SessionParams are the session parameters as written
	// ("UNENCRYPTED_SRTCP", "WSH=64", ...).
	SessionParams []string
}

// maxMKILength bounds the MKI we handle to what fits an int everywhere;
// phones use one byte.
const maxMKILength = 4

// ParseCrypto parses the value of an a=crypto attribute (what follows
// "a=crypto:"). Errors wrap ErrSyntax, or ErrUnknownSuite for a
// well-formed line whose suite this package does not implement; Parse
// skips both kinds, as RFC 4568 §7.1.2 has an answerer ignore lines it
// cannot use.
func ParseCrypto(value string) (Crypto, error) {
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return Crypto{}, fmt.Errorf("%w: control character in crypto attribute", ErrSyntax)
		}
	}
	f := strings.Fields(value)
	if len(f) < 3 {
		return Crypto{}, fmt.Errorf("%w: crypto wants <tag> <suite> <key-params>", ErrSyntax)
	}
	tag, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil || len(f[0]) > 9 {
		return Crypto{}, fmt.Errorf("%w: crypto tag %q, want 1 to 9 digits", ErrSyntax, f[0])
	}
	suite, ok := LookupSuite(f[1])
	if !ok {
		return Crypto{}, fmt.Errorf("%w: %q", ErrUnknownSuite, f[1])
	}
	c := Crypto{Tag: int(tag), Suite: f[1]}
	if strings.Contains(f[2], ";") {
		// Several keys are told apart by MKI; no phone sends them and
		// accepting the first alone would fail on packets under the rest.
		return Crypto{}, fmt.Errorf("%w: several keys in one crypto line are not supported", ErrSyntax)
	}
	method, info, ok := strings.Cut(f[2], ":")
	if !ok || !strings.EqualFold(method, "inline") {
		return Crypto{}, fmt.Errorf("%w: key method %q, want inline", ErrSyntax, method)
	}
	parts := strings.Split(info, "|")
	if len(parts) > 3 {
		return Crypto{}, fmt.Errorf("%w: key info has %d fields, want at most 3", ErrSyntax, len(parts))
	}
	if c.KeySalt, err = decodeKey(parts[0]); err != nil {
		return Crypto{}, err
	}
	if want := suite.KeyLen + suite.SaltLen; len(c.KeySalt) != want {
		return Crypto{}, fmt.Errorf("%w: %s key and salt of %d bytes, want %d", ErrSyntax, suite.Name, len(c.KeySalt), want)
	}
	for _, p := range parts[1:] {
		if mki, size, ok := strings.Cut(p, ":"); ok {
			if c.MKILength != 0 {
				return Crypto{}, fmt.Errorf("%w: two MKIs", ErrSyntax)
			}
			if c.MKI, c.MKILength, err = parseMKI(mki, size); err != nil {
				return Crypto{}, err
			}
			continue
		}
		if c.Lifetime != "" || c.MKILength != 0 {
			return Crypto{}, fmt.Errorf("%w: lifetime %q out of place", ErrSyntax, p)
		}
		if err := checkLifetime(p); err != nil {
			return Crypto{}, err
		}
		c.Lifetime = p
	}
	if len(f) > 3 {
		c.SessionParams = slices.Clone(f[3:])
	}
	return c, nil
}

// decodeKey reads base64 with or without padding: RFC 4568 asks for
// padding, and some implementations leave it out.
func decodeKey(s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%w: empty key", ErrSyntax)
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: key is not base64: %v", ErrSyntax, err)
	}
	return b, nil
}

func checkLifetime(s string) error {
	digits, pow := strings.CutPrefix(s, "2^")
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || (pow && (n == 0 || n > 64)) || (!pow && n == 0) {
		return fmt.Errorf("%w: key lifetime %q", ErrSyntax, s)
	}
	return nil
}

func parseMKI(value, size string) (mki, length int, err error) {
	l, err := strconv.ParseUint(size, 10, 8)
	if err != nil || l == 0 || l > maxMKILength {
		return 0, 0, fmt.Errorf("%w: MKI length %q, want 1 to %d", ErrSyntax, size, maxMKILength)
	}
	v, err := strconv.ParseUint(value, 10, int(8*l))
	if err != nil {
		return 0, 0, fmt.Errorf("%w: MKI %q does not fit %d bytes", ErrSyntax, value, l)
	}
	return int(v), int(l), nil
}

// Value is the attribute value as it goes on the wire, what follows
// "a=crypto:", key included.
func (c Crypto) Value() string {
	return c.format(base64.StdEncoding.EncodeToString(c.KeySalt))
}

// String is the attribute value with the key left out, so a Crypto that
// ends up in a log or an error message does not leak the call's key.
func (c Crypto) String() string {
	return c.format("<key>")
}

func (c Crypto) format(key string) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(c.Tag))
	b.WriteString(" ")
	b.WriteString(c.Suite)
	b.WriteString(" inline:")
	b.WriteString(key)
	if c.Lifetime != "" {
		b.WriteString("|" + c.Lifetime)
	}
	if c.MKILength > 0 {
		b.WriteString("|" + strconv.Itoa(c.MKI) + ":" + strconv.Itoa(c.MKILength))
	}
	for _, p := range c.SessionParams {
		b.WriteString(" " + p)
	}
	return b.String()
}

// NewCrypto returns a crypto line for suite with a fresh master key and
// salt from crypto/rand. With mki it carries Microsoft's lifetime and
// MKI ("|2^31|1:1"), which Skype for Business peers expect.
func NewCrypto(tag int, suite string, mki bool) (Crypto, error) {
	s, ok := LookupSuite(suite)
	if !ok {
		return Crypto{}, fmt.Errorf("%w: %q", ErrUnknownSuite, suite)
	}
	c := Crypto{Tag: tag, Suite: s.Name, KeySalt: newKey(s.KeyLen + s.SaltLen)}
	if mki {
		c.Lifetime, c.MKI, c.MKILength = "2^31", 1, 1
	}
	return c, nil
}

func newKey(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return b
}

// suite returns the line's suite; false when the suite is unknown or the
// key does not fit it (a hand-made Crypto).
func (c Crypto) suite() (Suite, bool) {
	s, ok := LookupSuite(c.Suite)
	return s, ok && len(c.KeySalt) == s.KeyLen+s.SaltLen
}

// Key returns the master key and salt split by the suite's sizes, for
// srtp.CreateContext. It fails with ErrUnknownSuite when the suite is
// unknown and ErrSyntax when the key does not fit it.
func (c Crypto) Key() (key, salt []byte, profile srtp.ProtectionProfile, err error) {
	s, ok := LookupSuite(c.Suite)
	if !ok {
		return nil, nil, 0, fmt.Errorf("%w: %q", ErrUnknownSuite, c.Suite)
	}
	if len(c.KeySalt) != s.KeyLen+s.SaltLen {
		return nil, nil, 0, fmt.Errorf("%w: %s key and salt of %d bytes, want %d", ErrSyntax, s.Name, len(c.KeySalt), s.KeyLen+s.SaltLen)
	}
	return c.KeySalt[:s.KeyLen], c.KeySalt[s.KeyLen:], s.Profile, nil
}

// MKIBytes is the MKI as it appears in packets: MKILength bytes, big
// endian; nil without an MKI.
func (c Crypto) MKIBytes() []byte {
	if c.MKILength <= 0 {
		return nil
	}
	b := make([]byte, c.MKILength)
	v := c.MKI
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

func (c Crypto) clone() Crypto {
	c.KeySalt = slices.Clone(c.KeySalt)
	c.SessionParams = slices.Clone(c.SessionParams)
	return c
}
