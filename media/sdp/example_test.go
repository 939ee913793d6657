package sdp_test

import (
	"errors"
	"fmt"

	"github.com/deskphone/deskphone/media/sdp"
)

func Example() {
	offer := sdp.NewOffer("192.0.2.10", 40000, []sdp.Format{sdp.G722, sdp.PCMU, sdp.TelephoneEvent}, sdp.SendRecv)

	// The far end parses the offer and answers with what it supports.
	remote, err := sdp.Parse(offer.Marshal())
	if err != nil {
		fmt.Println(err)
		return
	}
	answer, err := sdp.Answer(remote, "192.0.2.20", 50000, []sdp.Format{sdp.PCMU, sdp.PCMA, sdp.TelephoneEvent}, sdp.SendRecv)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range answer.Media.Formats {
		fmt.Printf("%d %s/%d\n", f.PT, f.Name, f.Rate)
	}

	// Hold: a new offer, one version up, sendonly; the peer answers recvonly.
	hold := offer.Reoffer(sdp.SendOnly)
	held, _ := sdp.Answer(hold, "192.0.2.20", 50000, []sdp.Format{sdp.PCMU}, sdp.SendRecv)
	fmt.Println(hold.SessionVersion-offer.SessionVersion, held.Media.Direction)

	// Nothing in common: the SIP side replies 488.
	_, err = sdp.Answer(remote, "192.0.2.20", 50000, []sdp.Format{{PT: 18, Name: "G729", Rate: 8000}}, sdp.SendRecv)
	fmt.Println(errors.Is(err, sdp.ErrNoCommonCodec))
	// Output:
	// 0 PCMU/8000
	// 101 telephone-event/8000
	// 1 recvonly
	// true
}

func ExampleSRTPPolicy() {
	// A phone that insists on SRTP offers RTP/SAVP with a fresh key.
	phone := sdp.SRTPPolicy{Mode: sdp.SRTPMandatory, MKI: true}
	offer := sdp.NewOffer("192.0.2.10", 40000, []sdp.Format{sdp.PCMU, sdp.TelephoneEvent}, sdp.SendRecv)
	if err := phone.Offer(offer); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(offer.Media.Profile, offer.Media.Crypto[0])

	// The far end accepts SRTP when offered and answers with its own key.
	remote, _ := sdp.Parse(offer.Marshal())
	answer, err := sdp.SRTPPolicy{Mode: sdp.SRTPOptional}.Answer(remote, "192.0.2.20", 50000, []sdp.Format{sdp.PCMU}, sdp.SendRecv)
	if err != nil {
		fmt.Println(err)
		return
	}
	keys, err := phone.Accept(offer, answer)
	fmt.Println(keys.Secure(), keys.Remote.Suite, err)

	// A far end with SRTP off cannot answer: the SIP side replies 488.
	_, err = sdp.Answer(remote, "192.0.2.20", 50000, []sdp.Format{sdp.PCMU}, sdp.SendRecv)
	fmt.Println(errors.Is(err, sdp.ErrUnsupportedProfile))
	// Output:
	// RTP/SAVP 1 AES_CM_128_HMAC_SHA1_80 inline:<key>|2^31|1:1
	// true AES_CM_128_HMAC_SHA1_80 <nil>
	// true
}
