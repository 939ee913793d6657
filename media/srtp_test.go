package media

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	srtpv2 "github.com/pion/srtp/v2"

	"github.com/deskphone/deskphone/media/sdp"
)

// The SRTP tests check our use of pion/srtp v3 three ways: against the
// RFC 3711 Appendix B.3 key derivation and packets computed here from
// crypto/aes, crypto/cipher and crypto/hmac alone (RFC 3711 for AES-CM
// with HMAC-SHA1, RFC 7714 for AES-GCM), against pion/srtp v2 (the
// version that carried our interop until now) in both directions, and
// for allocations.

// srtpHeader writes a 12-byte RTP header (version 2, no CSRC) into b.
func srtpHeader(b []byte, seq uint16, ts, ssrc uint32) {
	b[0], b[1] = 0x80, 0
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// kdf is RFC 3711 §4.3.1 with a key derivation rate of 0: AES-CM keyed
// with the master key over IV = (master salt XOR label<<48) << 16.
func kdf(t *testing.T, masterKey, masterSalt []byte, label byte, n int) []byte {
	t.Helper()
	block, err := aes.NewCipher(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, 16)
	copy(iv, masterSalt)
	iv[7] ^= label
	out := make([]byte, n)
	cipher.NewCTR(block, iv).XORKeyStream(out, out)
	return out
}

// TestSRTPKeyDerivationRFC3711 checks the test's own key derivation
// against RFC 3711 Appendix B.3, so that the reference packet below rests
// on the RFC rather than on pion.
func TestSRTPKeyDerivationRFC3711(t *testing.T) {
	key := unhex(t, "E1F97A0D3E018BE0D64FA32C06DE4139")
	salt := unhex(t, "0EC675AD498AFEEBB6960B3AABE6")
	for _, c := range []struct {
		label byte
		want  string
	}{
		{0, "C61E7A93744F39EE10734AFE3FF7A087"},
		{2, "30CBBC08863D8C85D49DB34A9AE1"},
		{1, "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA48F0A0ACF3C34E2359E6CDBCE" +
			"E049646C43D9327AD175578EF7227098" + "6371C10C9A369AC2F94A8C5FBCDDDC256D6E919A48B610EF17C2041E474035766B68642C59BBFC2F34DB60DBDFB2"},
	} {
		want := unhex(t, c.want)
		if got := kdf(t, key, salt, c.label, len(want)); !bytes.Equal(got, want) {
			t.Errorf("label %d: %X, want %X", c.label, got, want)
		}
	}
}

// TestSRTPProtectMatchesReference: AES-CM packets protected through
// keyMaterial equal those built here by RFC 3711's recipe (§4.1.1 counter
// mode, §4.2 HMAC-SHA1 over the packet and ROC, the MKI before the tag;
// RFC 6188 for AES-256), across a ROC wrap, with and without an MKI: with
// the RFC 3711 B.3 master key for AES_CM_128_HMAC_SHA1_80 and fresh keys
// for the other suites.
func TestSRTPProtectMatchesReference(t *testing.T) {
	suites := []struct {
		name   string
		tagLen int
	}{
		{"AES_CM_128_HMAC_SHA1_80", 10}, {"AES_CM_128_HMAC_SHA1_32", 4},
		{"AES_256_CM_HMAC_SHA1_80", 10}, {"AES_256_CM_HMAC_SHA1_32", 4},
	}
	for _, suite := range suites {
		for _, mki := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/mki=%v", suite.name, mki), func(t *testing.T) {
				testSRTPReference(t, suite.name, suite.tagLen, mki)
			})
		}
	}
}

func testSRTPReference(t *testing.T, suite string, tagLen int, mki bool) {
	c, err := sdp.NewCrypto(1, suite, false)
	if err != nil {
		t.Fatal(err)
	}
	if suite == sdp.DefaultSuite {
		c.KeySalt = unhex(t, "E1F97A0D3E018BE0D64FA32C06DE4139"+"0EC675AD498AFEEBB6960B3AABE6")
	}
	if mki {
		c.MKI, c.MKILength = 513, 2
	}
	masterKey, masterSalt, _, err := c.Key()
	if err != nil {
		t.Fatal(err)
	}
	k, err := newKeyMaterial(c)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := k.sendContext()
	if err != nil {
		t.Fatal(err)
	}
	encKey := kdf(t, masterKey, masterSalt, 0, len(masterKey))
	authKey := kdf(t, masterKey, masterSalt, 1, 20)
	sessSalt := kdf(t, masterKey, masterSalt, 2, 14)
	block, err := aes.NewCipher(encKey)
	if err != nil {
		t.Fatal(err)
	}
	const ssrc = 0xDECAFBAD
	plain := make([]byte, 12+160)
	var hdr rtp.Header
	var roc uint32
	for i := range 12 {
		seq := uint16(65530 + i) // wraps after 6 packets
		if seq == 0 {
			roc++
		}
		srtpHeader(plain, seq, uint32(i)*160, ssrc)
		for j := range plain[12:] {
			plain[12+j] = byte(i + j)
		}
		got, err := tx.EncryptRTP(nil, plain, &hdr)
		if err != nil {
			t.Fatal(err)
		}

		// RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16).
		iv := make([]byte, 16)
		copy(iv, sessSalt)
		var x [16]byte // SSRC at bytes 4..7, the 48-bit index at 8..13
		index := uint64(roc)<<16 | uint64(seq)
		binary.BigEndian.PutUint32(x[4:], ssrc)
		x[8], x[9] = byte(index>>40), byte(index>>32)
		binary.BigEndian.PutUint32(x[10:], uint32(index))
		for j := range iv {
			iv[j] ^= x[j]
		}
		want := append([]byte{}, plain...)
		cipher.NewCTR(block, iv).XORKeyStream(want[12:], want[12:])
		mac := hmac.New(sha1.New, authKey)
		mac.Write(want)
		_ = binary.Write(mac, binary.BigEndian, roc)
		if mki {
			want = append(want, 0x02, 0x01)
		}
		want = append(want, mac.Sum(nil)[:tagLen]...)
		if !bytes.Equal(got, want) {
			t.Fatalf("seq %d roc %d:\n got %X\nwant %X", seq, roc, got, want)
		}
	}
}

// TestSRTPGCMMatchesReference: AEAD_AES_128_GCM and AEAD_AES_256_GCM
// packets protected through keyMaterial equal those built here by RFC
// 7714's recipe: session key and salt by the RFC 3711 KDF (§11), IV =
// salt XOR (0 || SSRC || ROC || SEQ) (§8.1), the header as associated
// data, the 16-byte tag after the ciphertext and the MKI, if any, last;
// across a ROC wrap.
func TestSRTPGCMMatchesReference(t *testing.T) {
	for _, suite := range []string{"AEAD_AES_128_GCM", "AEAD_AES_256_GCM"} {
		for _, mki := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/mki=%v", suite, mki), func(t *testing.T) {
				c, err := sdp.NewCrypto(1, suite, mki)
				if err != nil {
					t.Fatal(err)
				}
				masterKey, masterSalt, _, err := c.Key()
				if err != nil {
					t.Fatal(err)
				}
				k, err := newKeyMaterial(c)
				if err != nil {
					t.Fatal(err)
				}
				tx, err := k.sendContext()
				if err != nil {
					t.Fatal(err)
				}
				block, err := aes.NewCipher(kdf(t, masterKey, masterSalt, 0, len(masterKey)))
				if err != nil {
					t.Fatal(err)
				}
				aead, err := cipher.NewGCM(block)
				if err != nil {
					t.Fatal(err)
				}
				salt := kdf(t, masterKey, masterSalt, 2, 12)
				const ssrc = 0xCAFEF00D
				plain := make([]byte, 12+160)
				var hdr rtp.Header
				var roc uint32
				for i := range 8 {
					seq := uint16(65532 + i)
					if seq == 0 {
						roc++
					}
					srtpHeader(plain, seq, uint32(i)*160, ssrc)
					for j := range plain[12:] {
						plain[12+j] = byte(3*i + j)
					}
					got, err := tx.EncryptRTP(nil, plain, &hdr)
					if err != nil {
						t.Fatal(err)
					}
					iv := make([]byte, 12)
					binary.BigEndian.PutUint32(iv[2:], ssrc)
					binary.BigEndian.PutUint32(iv[6:], roc)
					binary.BigEndian.PutUint16(iv[10:], seq)
					for j := range iv {
						iv[j] ^= salt[j]
					}
					want := aead.Seal(append([]byte{}, plain[:12]...), iv, plain[12:], plain[:12])
					want = append(want, c.MKIBytes()...)
					if !bytes.Equal(got, want) {
						t.Fatalf("seq %d roc %d:\n got %X\nwant %X", seq, roc, got, want)
					}
				}
			})
		}
	}
}

// srtpCase is a key for each suite we negotiate, with and without MKI.
func srtpCases(t *testing.T) []sdp.Crypto {
	t.Helper()
	var out []sdp.Crypto
	for _, suite := range sdp.Suites() {
		for _, mki := range []bool{false, true} {
			c, err := sdp.NewCrypto(1, suite, mki)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
	}
	return out
}

func caseName(c sdp.Crypto) string {
	return fmt.Sprintf("%s/mki=%v", c.Suite, c.MKILength > 0)
}

// v2Context is pion/srtp v2's context for the same key, the reference.
func v2Context(t *testing.T, c sdp.Crypto) *srtpv2.Context {
	t.Helper()
	key, salt, profile, err := c.Key()
	if err != nil {
		t.Fatal(err)
	}
	var opts []srtpv2.ContextOption
	if m := c.MKIBytes(); m != nil {
		opts = append(opts, srtpv2.MasterKeyIndicator(m))
	}
	ctx, err := srtpv2.CreateContext(key, salt, srtpv2.ProtectionProfile(profile), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return ctx
}

// TestSRTPAgainstPionV2: for every suite, with and without MKI, across a
// ROC wrap, what we protect pion/srtp v2 unprotects and the reverse, for
// SRTP and SRTCP.
func TestSRTPAgainstPionV2(t *testing.T) {
	for _, c := range srtpCases(t) {
		t.Run(caseName(c), func(t *testing.T) {
			k, err := newKeyMaterial(c)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := k.sendContext()
			if err != nil {
				t.Fatal(err)
			}
			ourRecv, err := k.recvContext()
			if err != nil {
				t.Fatal(err)
			}
			ref, refRecv := v2Context(t, c), v2Context(t, c)
			plain := make([]byte, 12+160)
			var hdr rtp.Header
			for i := range 20 {
				srtpHeader(plain, uint16(65525+i), uint32(i)*160, 0x1234)
				plain[12] = byte(i)
				pkt, err := ours.EncryptRTP(nil, plain, &hdr)
				if err != nil {
					t.Fatal(err)
				}
				if len(pkt) != len(plain)+k.overhead {
					t.Fatalf("protected %d bytes, want %d", len(pkt), len(plain)+k.overhead)
				}
				back, err := refRecv.DecryptRTP(nil, pkt, &hdr)
				if err != nil || !bytes.Equal(back, plain) {
					t.Fatalf("packet %d: pion v2 unprotects ours: %v", i, err)
				}
				pkt, err = ref.EncryptRTP(nil, plain, &hdr)
				if err != nil {
					t.Fatal(err)
				}
				back, replayed, err := ourRecv.decryptRTP(nil, pkt, &hdr)
				if err != nil || replayed || !bytes.Equal(back, plain) {
					t.Fatalf("packet %d: we unprotect pion v2's: %v (replayed %v)", i, err, replayed)
				}
			}
			report, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0x1234}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				pkt, err := ours.EncryptRTCP(nil, report, nil)
				if err != nil {
					t.Fatal(err)
				}
				if back, err := refRecv.DecryptRTCP(nil, pkt, nil); err != nil || !bytes.Equal(back, report) {
					t.Fatalf("report %d: pion v2 unprotects our SRTCP: %v", i, err)
				}
				if pkt, err = ref.EncryptRTCP(nil, report, nil); err != nil {
					t.Fatal(err)
				}
				if back, replayed, err := ourRecv.decryptRTCP(nil, pkt); err != nil || replayed || !bytes.Equal(back, report) {
					t.Fatalf("report %d: we unprotect pion v2's SRTCP: %v (replayed %v)", i, err, replayed)
				}
			}
		})
	}
}

// TestSRTPReplayAndTamper: a packet seen twice, or older than the 64
// packet window, is a replay; a changed byte is an authentication failure
// and not a replay; SRTCP likewise.
func TestSRTPReplayAndTamper(t *testing.T) {
	for _, c := range srtpCases(t) {
		t.Run(caseName(c), func(t *testing.T) {
			k, err := newKeyMaterial(c)
			if err != nil {
				t.Fatal(err)
			}
			tx, err := k.sendContext()
			if err != nil {
				t.Fatal(err)
			}
			rx, err := k.recvContext()
			if err != nil {
				t.Fatal(err)
			}
			plain := make([]byte, 12+160)
			var hdr rtp.Header
			var pkts [][]byte
			for i := range replayWindow + 1 {
				srtpHeader(plain, uint16(100+i), uint32(i)*160, 0x99)
				pkt, err := tx.EncryptRTP(nil, plain, &hdr)
				if err != nil {
					t.Fatal(err)
				}
				pkts = append(pkts, pkt)
			}
			// Deliver all but the first two, then the first (too old) and
			// the last again (seen).
			for _, pkt := range pkts[2:] {
				if _, replayed, err := rx.decryptRTP(nil, pkt, &hdr); err != nil || replayed {
					t.Fatalf("fresh packet refused: %v, replayed %v", err, replayed)
				}
			}
			for name, pkt := range map[string][]byte{"too old": pkts[0], "seen": pkts[len(pkts)-1]} {
				if _, replayed, err := rx.decryptRTP(nil, pkt, &hdr); err == nil || !replayed {
					t.Errorf("%s: err %v, replayed %v; want a replay", name, err, replayed)
				}
			}
			bad := append([]byte{}, pkts[1]...)
			bad[20] ^= 1
			if _, replayed, err := rx.decryptRTP(nil, bad, &hdr); err == nil || replayed {
				t.Errorf("tampered: err %v, replayed %v; want an authentication failure", err, replayed)
			}
			if _, replayed, err := rx.decryptRTP(nil, pkts[1], &hdr); err != nil || replayed {
				t.Errorf("the untampered packet within the window: err %v, replayed %v", err, replayed)
			}

			report, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0x99}})
			if err != nil {
				t.Fatal(err)
			}
			pkt, err := tx.EncryptRTCP(nil, report, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, replayed, err := rx.decryptRTCP(nil, pkt); err != nil || replayed {
				t.Fatalf("SRTCP refused: %v, replayed %v", err, replayed)
			}
			if _, replayed, err := rx.decryptRTCP(nil, pkt); err == nil || !replayed {
				t.Errorf("SRTCP seen twice: err %v, replayed %v; want a replay", err, replayed)
			}
		})
	}
}

// TestSRTPNoAllocations: protect and unprotect, RTP and RTCP, into reused
// buffers allocate nothing, for every suite, with and without MKI.
func TestSRTPNoAllocations(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counting")
	}
	for _, c := range srtpCases(t) {
		t.Run(caseName(c), func(t *testing.T) {
			k, err := newKeyMaterial(c)
			if err != nil {
				t.Fatal(err)
			}
			tx, err := k.sendContext()
			if err != nil {
				t.Fatal(err)
			}
			rx, err := k.recvContext()
			if err != nil {
				t.Fatal(err)
			}
			plain := make([]byte, 12+160)
			out := make([]byte, 0, 1500)
			dec := make([]byte, 0, 1500)
			report, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 0x99}})
			if err != nil {
				t.Fatal(err)
			}
			var hdr rtp.Header
			seq := uint16(65000) // crosses a ROC wrap
			step := func() {
				srtpHeader(plain, seq, uint32(seq)*160, 0x99)
				seq++
				pkt, err := tx.EncryptRTP(out[:0], plain, &hdr)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := rx.decryptRTP(dec[:0], pkt, &hdr); err != nil {
					t.Fatal(err)
				}
				pkt, err = tx.EncryptRTCP(out[:0], report, nil)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := rx.decryptRTCP(dec[:0], pkt); err != nil {
					t.Fatal(err)
				}
			}
			step() // the first packet of an SSRC sets up its state
			if n := testing.AllocsPerRun(1000, step); n != 0 {
				t.Errorf("%v allocations per packet", n)
			}
		})
	}
}
