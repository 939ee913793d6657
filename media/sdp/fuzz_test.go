package sdp

import (
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// marshals to a description that parses back to the same Session. The seed
// corpus is in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(polyOffer))
	f.Add([]byte(audiocodesOffer))
	f.Fuzz(func(t *testing.T, data []byte) {
		s1, err := Parse(data)
		if err != nil {
			return
		}
		out := s1.Marshal()
		s2, err := Parse(out)
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v\n%q", err, out)
		}
		if !reflect.DeepEqual(s1, s2) {
			t.Fatalf("round trip changed the session:\n%+v\n%+v\n%q", s1, s2, out)
		}
	})
}

// FuzzParseCrypto checks that ParseCrypto never panics, that what it
// accepts has a key of the suite's size, and that Value writes a line
// that parses back to the same Crypto. The seed corpus is in
// testdata/fuzz/FuzzParseCrypto.
func FuzzParseCrypto(f *testing.F) {
	f.Add("1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^31|1:1")
	f.Fuzz(func(t *testing.T, value string) {
		c, err := ParseCrypto(value)
		if err != nil {
			return
		}
		if _, _, _, err := c.Key(); err != nil {
			t.Fatalf("accepted a line whose key does not fit: %v", err)
		}
		out := c.Value()
		back, err := ParseCrypto(out)
		if err != nil {
			t.Fatalf("Value output does not parse: %v\n%q", err, out)
		}
		if !reflect.DeepEqual(c, back) {
			t.Fatalf("round trip changed the line:\n%#v\n%#v", c, back)
		}
	})
}
