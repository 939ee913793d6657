package sdp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustB64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// key30 and friends are base64 keys of the sizes the suites want.
var (
	key30 = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"                     // 16+14
	key28 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 28)) // 16+12, padded
	key44 = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 44)) // 32+12
)

func TestParseCrypto(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Crypto
		out  string // Value(), when it differs from in
	}{
		{"microsoft lifetime and MKI", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|1:1",
			Crypto{Tag: 1, Suite: "AES_CM_128_HMAC_SHA1_80", KeySalt: mustB64(key30), Lifetime: "2^31", MKI: 1, MKILength: 1}, ""},
		{"plain", "2 AES_CM_128_HMAC_SHA1_32 inline:" + key30,
			Crypto{Tag: 2, Suite: "AES_CM_128_HMAC_SHA1_32", KeySalt: mustB64(key30)}, ""},
		{"decimal lifetime", "3 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1048576",
			Crypto{Tag: 3, Suite: "AES_CM_128_HMAC_SHA1_80", KeySalt: mustB64(key30), Lifetime: "1048576"}, ""},
		{"MKI without lifetime", "4 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|513:2",
			Crypto{Tag: 4, Suite: "AES_CM_128_HMAC_SHA1_80", KeySalt: mustB64(key30), MKI: 513, MKILength: 2}, ""},
		{"session parameters", "5 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "  WSH=64 UNENCRYPTED_SRTCP",
			Crypto{Tag: 5, Suite: "AES_CM_128_HMAC_SHA1_80", KeySalt: mustB64(key30), SessionParams: []string{"WSH=64", "UNENCRYPTED_SRTCP"}},
			"5 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + " WSH=64 UNENCRYPTED_SRTCP"},
		{"GCM padded", "6 AEAD_AES_128_GCM inline:" + key28,
			Crypto{Tag: 6, Suite: "AEAD_AES_128_GCM", KeySalt: bytes.Repeat([]byte{7}, 28)}, ""},
		{"GCM unpadded", "7 AEAD_AES_128_GCM inline:" + strings.TrimRight(key28, "="),
			Crypto{Tag: 7, Suite: "AEAD_AES_128_GCM", KeySalt: bytes.Repeat([]byte{7}, 28)}, "7 AEAD_AES_128_GCM inline:" + key28},
		{"GCM 256", "8 AEAD_AES_256_GCM inline:" + key44,
			Crypto{Tag: 8, Suite: "AEAD_AES_256_GCM", KeySalt: bytes.Repeat([]byte{9}, 44)}, ""},
		{"lower-case suite and method, leading zero tag", "09 aes_cm_128_hmac_sha1_80 INLINE:" + key30,
			Crypto{Tag: 9, Suite: "aes_cm_128_hmac_sha1_80", KeySalt: mustB64(key30)}, "9 aes_cm_128_hmac_sha1_80 inline:" + key30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCrypto(tt.in)
			if err != nil {
				t.Fatalf("ParseCrypto: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseCrypto =\n%#v\nwant\n%#v", got, tt.want)
			}
			out := tt.out
			if out == "" {
				out = tt.in
			}
			if got.Value() != out {
				t.Errorf("Value = %q, want %q", got.Value(), out)
			}
			if strings.Contains(got.String(), base64.StdEncoding.EncodeToString(got.KeySalt)) {
				t.Errorf("String %q shows the key", got.String())
			}
		})
	}
}

func TestParseCryptoErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrSyntax},
		{"no key", "1 AES_CM_128_HMAC_SHA1_80", ErrSyntax},
		{"tag text", "x AES_CM_128_HMAC_SHA1_80 inline:" + key30, ErrSyntax},
		{"tag ten digits", "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" + key30, ErrSyntax},
		{"negative tag", "-1 AES_CM_128_HMAC_SHA1_80 inline:" + key30, ErrSyntax},
		{"unknown suite", "1 F8_128_HMAC_SHA1_80 inline:" + key30, ErrUnknownSuite},
		{"method", "1 AES_CM_128_HMAC_SHA1_80 uri:" + key30, ErrSyntax},
		{"not base64", "1 AES_CM_128_HMAC_SHA1_80 inline:!!!!" + key30[4:], ErrSyntax},
		{"empty key", "1 AES_CM_128_HMAC_SHA1_80 inline:|2^31", ErrSyntax},
		{"short key", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key28, ErrSyntax},
		{"GCM key for CM suite", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key44, ErrSyntax},
		{"two keys", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^20|1:4;inline:" + key30 + "|2^20|2:4", ErrSyntax},
		{"too many fields", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^31|1:1|x", ErrSyntax},
		{"two MKIs", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:1|2:1", ErrSyntax},
		{"lifetime after MKI", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:1|2^31", ErrSyntax},
		{"lifetime 2^0", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^0", ErrSyntax},
		{"lifetime 2^65", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|2^65", ErrSyntax},
		{"lifetime text", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|forever", ErrSyntax},
		{"MKI length 0", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:0", ErrSyntax},
		{"MKI length 5", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|1:5", ErrSyntax},
		{"MKI overflows length", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "|256:1", ErrSyntax},
		{"control character", "1 AES_CM_128_HMAC_SHA1_80 inline:" + key30 + "\x00", ErrSyntax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCrypto(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseCrypto = %v, %v; want %v", c, err, tt.want)
			}
			if strings.Contains(err.Error(), key30) {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
}

func TestNewCryptoAndKey(t *testing.T) {
	for _, name := range Suites() {
		t.Run(name, func(t *testing.T) {
			a, err := NewCrypto(3, name, false)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := NewCrypto(3, name, true)
			if bytes.Equal(a.KeySalt, b.KeySalt) {
				t.Error("two keys are equal")
			}
			if b.Lifetime != "2^31" || b.MKI != 1 || b.MKILength != 1 || !bytes.Equal(b.MKIBytes(), []byte{1}) {
				t.Errorf("MKI form: %v", b)
			}
			if a.MKIBytes() != nil {
				t.Errorf("MKIBytes without MKI = %v", a.MKIBytes())
			}
			suite, _ := LookupSuite(name)
			key, salt, profile, err := a.Key()
			if err != nil || len(key) != suite.KeyLen || len(salt) != suite.SaltLen || profile != suite.Profile {
				t.Errorf("Key = %d, %d, %v, %v", len(key), len(salt), profile, err)
			}
			if wantKey, _ := profile.KeyLen(); wantKey != len(key) {
				t.Errorf("pion wants a %d-byte key, suite has %d", wantKey, len(key))
			}
			if wantSalt, _ := profile.SaltLen(); wantSalt != len(salt) {
				t.Errorf("pion wants a %d-byte salt, suite has %d", wantSalt, len(salt))
			}
			back, err := ParseCrypto(b.Value())
			if err != nil || !reflect.DeepEqual(back, b) {
				t.Errorf("round trip: %v, %v", back, err)
			}
		})
	}
	if _, err := NewCrypto(1, "NULL_HMAC_SHA1_80", false); !errors.Is(err, ErrUnknownSuite) {
		t.Errorf("unknown suite: %v", err)
	}
	if _, _, _, err := (Crypto{Suite: "nope"}).Key(); !errors.Is(err, ErrUnknownSuite) {
		t.Errorf("Key of unknown suite: %v", err)
	}
	if _, _, _, err := (Crypto{Suite: DefaultSuite, KeySalt: []byte{1}}).Key(); !errors.Is(err, ErrSyntax) {
		t.Errorf("Key of short key: %v", err)
	}
	if got := (Crypto{MKI: 0x010203, MKILength: 4}).MKIBytes(); !bytes.Equal(got, []byte{0, 1, 2, 3}) {
		t.Errorf("MKIBytes = %v", got)
	}
}

func TestParseSkipsUnusableCrypto(t *testing.T) {
	in := crlf("v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0",
		"a=crypto:9 AES_CM_128_HMAC_SHA1_80 inline:"+key30, // session level: ignored
		"m=audio 4000 RTP/SAVP 0",
		"a=crypto:1 F8_128_HMAC_SHA1_80 inline:"+key30,
		"a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:short",
		"a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:"+key30+"|2^31|1:1",
		"a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:"+key30, // tag taken
		"a=crypto:4 AEAD_AES_256_GCM inline:"+key44,
		"m=video 0 RTP/SAVP 96",
		"a=crypto:5 AES_CM_128_HMAC_SHA1_80 inline:"+key30, // other stream
	)
	s, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var tags []int
	for _, c := range s.Media.Crypto {
		tags = append(tags, c.Tag)
	}
	if !reflect.DeepEqual(tags, []int{3, 4}) {
		t.Errorf("crypto tags = %v, want [3 4]", tags)
	}
	out := string(s.Marshal())
	if !strings.Contains(out, "a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:"+key30+"|2^31|1:1\r\na=crypto:4 AEAD_AES_256_GCM inline:"+key44+"\r\n") {
		t.Errorf("Marshal lost the crypto lines:\n%s", out)
	}
	c := s.Clone()
	c.Media.Crypto[0].KeySalt[0] ^= 1
	if s.Media.Crypto[0].KeySalt[0] == c.Media.Crypto[0].KeySalt[0] {
		t.Error("Clone shares key bytes")
	}
}

func TestReofferRenewsKeys(t *testing.T) {
	offer := NewOffer("192.0.2.1", 4000, []Format{PCMU}, SendRecv)
	if err := (SRTPPolicy{Mode: SRTPMandatory, Suites: []string{"AES_CM_128_HMAC_SHA1_80", "AEAD_AES_128_GCM"}, MKI: true}).Offer(offer); err != nil {
		t.Fatal(err)
	}
	hold := offer.Reoffer(SendOnly)
	if len(hold.Media.Crypto) != 2 || hold.Media.Profile != ProfileSAVP {
		t.Fatalf("re-offer: %v %v", hold.Media.Profile, hold.Media.Crypto)
	}
	for i, c := range hold.Media.Crypto {
		old := offer.Media.Crypto[i]
		if bytes.Equal(c.KeySalt, old.KeySalt) {
			t.Errorf("line %d kept its key", c.Tag)
		}
		if c.Tag != old.Tag || c.Suite != old.Suite || c.Lifetime != old.Lifetime || c.MKI != old.MKI || len(c.KeySalt) != len(old.KeySalt) {
			t.Errorf("line %d changed more than its key: %v -> %v", c.Tag, old, c)
		}
	}
}

func TestParseSRTPMode(t *testing.T) {
	for in, want := range map[string]SRTPMode{
		"off": SRTPOff, "Optional": SRTPOptional, " MANDATORY ": SRTPMandatory,
		"rejected": SRTPOff, "supported": SRTPOptional, "required": SRTPMandatory,
	} {
		got, err := ParseSRTPMode(in)
		if err != nil || got != want {
			t.Errorf("ParseSRTPMode(%q) = %v, %v", in, got, err)
		}
		if back, _ := ParseSRTPMode(got.String()); back != got {
			t.Errorf("%v does not round-trip", got)
		}
	}
	if _, err := ParseSRTPMode("sometimes"); !errors.Is(err, ErrSRTPMode) {
		t.Errorf("bad mode: %v", err)
	}
	if SRTPMode(7).String() != "SRTPMode(7)" {
		t.Error(SRTPMode(7).String())
	}
}

// offerFor builds an offer with the given profile and crypto lines.
func offerFor(profile string, crypto ...Crypto) *Session {
	s := NewOffer("192.0.2.1", 4000, []Format{PCMU, TelephoneEvent}, SendRecv)
	s.Media.Profile = profile
	s.Media.Crypto = crypto
	return s
}

func cryptoLine(t *testing.T, tag int, suite string, params ...string) Crypto {
	t.Helper()
	c, err := NewCrypto(tag, suite, false)
	if err != nil {
		t.Fatal(err)
	}
	c.SessionParams = params
	return c
}

func TestSRTPAnswer(t *testing.T) {
	cm80 := cryptoLine(t, 1, "AES_CM_128_HMAC_SHA1_80")
	cm32 := cryptoLine(t, 2, "AES_CM_128_HMAC_SHA1_32")
	gcm := cryptoLine(t, 3, "AEAD_AES_128_GCM")
	unenc := cryptoLine(t, 4, "AES_CM_128_HMAC_SHA1_80", "UNENCRYPTED_SRTP")
	wsh := cryptoLine(t, 5, "AES_CM_128_HMAC_SHA1_80", "WSH=128")
	tests := []struct {
		name    string
		mode    SRTPMode
		suites  []string
		offer   *Session
		err     error
		profile string
		tag     int // 0: the answer carries no key
	}{
		{"off/AVP", SRTPOff, nil, offerFor(ProfileAVP), nil, ProfileAVP, 0},
		{"off/AVP+crypto ignored", SRTPOff, nil, offerFor(ProfileAVP, cm80), nil, ProfileAVP, 0},
		{"off/SAVP refused", SRTPOff, nil, offerFor(ProfileSAVP, cm80), ErrUnsupportedProfile, "", 0},
		{"optional/AVP", SRTPOptional, nil, offerFor(ProfileAVP), nil, ProfileAVP, 0},
		{"optional/AVP+crypto", SRTPOptional, nil, offerFor(ProfileAVP, cm80), nil, ProfileAVP, 1},
		{"optional/AVP+unacceptable crypto: plain", SRTPOptional, nil, offerFor(ProfileAVP, gcm), nil, ProfileAVP, 0},
		{"optional/SAVP", SRTPOptional, nil, offerFor(ProfileSAVP, cm80), nil, ProfileSAVP, 1},
		{"optional/SAVP unacceptable: 488", SRTPOptional, nil, offerFor(ProfileSAVP, gcm), ErrNoAcceptableCrypto, "", 0},
		{"optional/SAVP without crypto: 488", SRTPOptional, nil, offerFor(ProfileSAVP), ErrNoAcceptableCrypto, "", 0},
		{"mandatory/SAVP", SRTPMandatory, nil, offerFor(ProfileSAVP, cm80), nil, ProfileSAVP, 1},
		{"mandatory/AVP: 488", SRTPMandatory, nil, offerFor(ProfileAVP), ErrNoAcceptableCrypto, "", 0},
		{"mandatory/AVP+crypto: 488", SRTPMandatory, nil, offerFor(ProfileAVP, cm80), ErrUnsupportedProfile, "", 0},
		{"mandatory/SAVP no crypto: 488", SRTPMandatory, nil, offerFor(ProfileSAVP), ErrNoAcceptableCrypto, "", 0},
		{"mandatory/first acceptable in offer order", SRTPMandatory, []string{"AEAD_AES_128_GCM", "AES_CM_128_HMAC_SHA1_32"},
			offerFor(ProfileSAVP, cm80, cm32, gcm), nil, ProfileSAVP, 2},
		{"mandatory/unsupported session parameter skipped", SRTPMandatory, nil, offerFor(ProfileSAVP, unenc, wsh), nil, ProfileSAVP, 5},
		{"mandatory/suite not accepted: 488", SRTPMandatory, []string{"AEAD_AES_256_GCM"}, offerFor(ProfileSAVP, cm80, gcm), ErrNoAcceptableCrypto, "", 0},
		{"any/other profile", SRTPOptional, nil, offerFor("UDP/TLS/RTP/SAVPF", cm80), ErrUnsupportedProfile, "", 0},
		{"bad mode", SRTPMode(9), nil, offerFor(ProfileAVP), ErrSRTPMode, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := SRTPPolicy{Mode: tt.mode, Suites: tt.suites}
			ans, err := p.Answer(tt.offer, "192.0.2.2", 5000, []Format{PCMU, TelephoneEvent}, SendRecv)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Answer error = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if ans.Media.Profile != tt.profile {
				t.Errorf("profile = %q, want %q", ans.Media.Profile, tt.profile)
			}
			if tt.tag == 0 {
				if len(ans.Media.Crypto) != 0 {
					t.Errorf("answer carries keys: %v", ans.Media.Crypto)
				}
				return
			}
			if len(ans.Media.Crypto) != 1 || ans.Media.Crypto[0].Tag != tt.tag {
				t.Fatalf("answer crypto = %v, want tag %d", ans.Media.Crypto, tt.tag)
			}
			keys, ok := MatchCrypto(&ans.Media, &tt.offer.Media)
			if !ok || keys.Remote.Tag != tt.tag || !keys.Secure() {
				t.Fatalf("MatchCrypto = %v, %v", keys, ok)
			}
			if bytes.Equal(keys.Local.KeySalt, keys.Remote.KeySalt) {
				t.Error("the answer reuses the offerer's key")
			}
			// The offerer accepts the answer and gets the same pair, mirrored.
			back, err := (SRTPPolicy{Mode: tt.mode}).Accept(tt.offer, ans)
			if err != nil || !bytes.Equal(back.Local.KeySalt, keys.Remote.KeySalt) || !bytes.Equal(back.Remote.KeySalt, keys.Local.KeySalt) {
				t.Errorf("Accept = %v, %v", back, err)
			}
		})
	}
}

func TestSRTPOfferAndAccept(t *testing.T) {
	newOffer := func(t *testing.T, mode SRTPMode, suites ...string) *Session {
		t.Helper()
		s := NewOffer("192.0.2.1", 4000, []Format{PCMU}, SendRecv)
		s.Media.Profile = "garbage"
		if err := (SRTPPolicy{Mode: mode, Suites: suites}).Offer(s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	off, opt, man := newOffer(t, SRTPOff), newOffer(t, SRTPOptional, "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_256_GCM"), newOffer(t, SRTPMandatory)
	if off.Media.Profile != ProfileAVP || len(off.Media.Crypto) != 0 {
		t.Errorf("off offer: %s %v", off.Media.Profile, off.Media.Crypto)
	}
	if opt.Media.Profile != ProfileAVP || len(opt.Media.Crypto) != 2 || opt.Media.Crypto[1].Tag != 2 || opt.Media.Crypto[1].Suite != "AEAD_AES_256_GCM" {
		t.Errorf("optional offer: %s %v", opt.Media.Profile, opt.Media.Crypto)
	}
	if man.Media.Profile != ProfileSAVP || len(man.Media.Crypto) != 1 || man.Media.Crypto[0].Suite != DefaultSuite {
		t.Errorf("mandatory offer: %s %v", man.Media.Profile, man.Media.Crypto)
	}
	if err := (SRTPPolicy{Mode: SRTPOptional, Suites: []string{"ROT13"}}).Offer(off.Clone()); !errors.Is(err, ErrUnknownSuite) {
		t.Errorf("unknown suite offered: %v", err)
	}

	answer := func(offer *Session, profile string, crypto ...Crypto) *Session {
		a := NewOffer("192.0.2.2", 5000, []Format{PCMU}, SendRecv)
		a.Media.Profile = profile
		a.Media.Crypto = crypto
		return a
	}
	good := func(offer *Session, tag int) Crypto {
		c := cryptoLine(t, tag, offer.Media.Crypto[tag-1].Suite)
		return c
	}
	tests := []struct {
		name   string
		mode   SRTPMode
		offer  *Session
		answer *Session
		err    error
		secure bool
	}{
		{"off/plain", SRTPOff, off, answer(off, ProfileAVP), nil, false},
		{"off/stray crypto ignored", SRTPOff, off, answer(off, ProfileAVP, cryptoLine(t, 1, DefaultSuite)), nil, false},
		{"off/SAVP answer", SRTPOff, off, answer(off, ProfileSAVP), ErrUnsupportedProfile, false},
		{"optional/plain answer", SRTPOptional, opt, answer(opt, ProfileAVP), nil, false},
		{"optional/keyed answer", SRTPOptional, opt, answer(opt, ProfileAVP, good(opt, 2)), nil, true},
		{"optional/answer key with unknown tag", SRTPOptional, opt, answer(opt, ProfileAVP, cryptoLine(t, 7, DefaultSuite)), ErrNoAcceptableCrypto, false},
		{"optional/answer key with other suite", SRTPOptional, opt, answer(opt, ProfileAVP, cryptoLine(t, 1, "AEAD_AES_256_GCM")), ErrNoAcceptableCrypto, false},
		{"mandatory/keyed", SRTPMandatory, man, answer(man, ProfileSAVP, good(man, 1)), nil, true},
		{"mandatory/plain answer", SRTPMandatory, man, answer(man, ProfileAVP), ErrNoAcceptableCrypto, false},
		{"mandatory/SAVP without key", SRTPMandatory, man, answer(man, ProfileSAVP), ErrNoAcceptableCrypto, false},
		{"mandatory/refused stream", SRTPMandatory, man, func() *Session { a := answer(man, ProfileSAVP); a.Media.Port = 0; return a }(), nil, false},
		{"other profile", SRTPOptional, opt, answer(opt, "RTP/AVPF"), ErrUnsupportedProfile, false},
		{"bad mode", SRTPMode(-1), opt, answer(opt, ProfileAVP), ErrSRTPMode, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := SRTPPolicy{Mode: tt.mode}.Accept(tt.offer, tt.answer)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Accept error = %v, want %v", err, tt.err)
			}
			if keys.Secure() != tt.secure {
				t.Errorf("Secure = %v, want %v (%v)", keys.Secure(), tt.secure, keys)
			}
		})
	}
	if _, err := (SRTPPolicy{}).Accept(nil, off); !errors.Is(err, ErrNoAudio) {
		t.Errorf("nil offer: %v", err)
	}
	if _, err := (SRTPPolicy{}).Answer(nil, "h", 1, nil, SendRecv); !errors.Is(err, ErrNoAudio) {
		t.Errorf("nil offer: %v", err)
	}
}

func TestSelectCrypto(t *testing.T) {
	a, b := cryptoLine(t, 1, "AEAD_AES_256_GCM"), cryptoLine(t, 2, DefaultSuite)
	got, err := SelectCrypto([]Crypto{a, b}, []string{DefaultSuite, "AEAD_AES_256_GCM"})
	if err != nil || got.Tag != 1 {
		t.Errorf("SelectCrypto = %v, %v; want the offerer's first", got, err)
	}
	got.KeySalt[0] ^= 1
	if a.KeySalt[0] == got.KeySalt[0] {
		t.Error("SelectCrypto shares the key bytes")
	}
	broken := Crypto{Tag: 3, Suite: DefaultSuite, KeySalt: []byte{1, 2}}
	if _, err := SelectCrypto([]Crypto{broken}, []string{DefaultSuite}); !errors.Is(err, ErrNoAcceptableCrypto) {
		t.Errorf("hand-made short key accepted: %v", err)
	}
	if _, err := SelectCrypto(nil, []string{DefaultSuite}); !errors.Is(err, ErrNoAcceptableCrypto) {
		t.Errorf("nothing offered: %v", err)
	}
}
