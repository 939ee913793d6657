package media_test

import (
	"fmt"
	"time"

	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/media/sdp"
)

// Two phones in one engine: SRTP negotiated through SDP, a tone each
// way, a key press over RFC 4733.
func Example() {
	engine, err := media.NewEngine(media.Config{SRTP: media.Mandatory})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer engine.Close()
	alice, _ := engine.NewSession()
	bob, _ := engine.NewSession()

	// Offer/answer, as the SIP user agents carry it in INVITE and 200 OK.
	offer := alice.Offer(sdp.SendRecv)
	answer, err := bob.Answer(offer, sdp.SendRecv)
	if err != nil {
		fmt.Println("488:", err)
		return
	}
	if err := alice.Accept(answer); err != nil {
		fmt.Println(err)
		return
	}
	tone, _ := media.ToneSource(1000, -10)
	alice.SetSource(tone)
	_ = alice.Start()
	_ = bob.Start()
	_ = alice.SendDTMF("#")

	heard := map[string]bool{}
	timeout := time.After(5 * time.Second)
	for len(heard) < 2 {
		select {
		case ev := <-bob.Events():
			switch ev := ev.(type) {
			case media.ToneHeard:
				heard[fmt.Sprintf("tone %v Hz", ev.Hz)] = true
			case media.DTMFHeard:
				heard[fmt.Sprintf("key %c", ev.Digit)] = true
			}
		case <-timeout:
			fmt.Println("heard only", heard)
			return
		}
	}
	st := bob.Stats()
	fmt.Println(heard["tone 1000 Hz"], heard["key #"], st.Codec, st.SRTPSuite)
	// Output:
	// true true G722 AES_CM_128_HMAC_SHA1_80
}
