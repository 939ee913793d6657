package media

// estimateMOS is the ITU-T G.107 E-model reduced to what a phone can
// measure, as RTCP XR VoIP metrics (RFC 3611 §4.7.5) do:
//
//	R = 93.2 - Id - Ie,eff
//
// Id, the delay impairment, follows Cole and Rosenbluth's fit to G.107
// (0.024·d, plus 0.11·(d-177.3) above 177.3 ms) for a one-way delay d of
// half the round trip, the 20 ms packet, and a jitter buffer of twice the
// jitter. Ie,eff = Ie + (95-Ie)·Ppl/(Ppl+Bpl) with G.113 Appendix I's
// values for G.711 with packet loss concealment (Ie 0, Bpl 25.1). G.722
// is scored on the same narrowband scale as G.711, which understates it:
// the wideband E-model (G.107.1) has a different scale. R maps to MOS by
// G.107 Annex B.
func estimateMOS(codec string, lossPct, jitterMS, rttMS float64) float64 {
	ie, bpl := codecImpairment(codec)
	d := rttMS/2 + float64(ptime.Milliseconds()) + 2*jitterMS
	id := 0.024 * d
	if d > 177.3 {
		id += 0.11 * (d - 177.3)
	}
	ppl := max(0, min(lossPct, 100))
	ieEff := ie + (95-ie)*ppl/(ppl+bpl)
	return mosFromR(93.2 - id - ieEff)
}

// codecImpairment is a codec's equipment impairment factor Ie and packet
// loss robustness Bpl (ITU-T G.113 Appendix I).
func codecImpairment(codec string) (ie, bpl float64) {
	switch codec {
	case "PCMU", "PCMA", "G722":
		return 0, 25.1
	}
	return 10, 10 // unknown: a middling low-bit-rate codec
}

// mosFromR is G.107 Annex B (B-4).
func mosFromR(r float64) float64 {
	switch {
	case r <= 0:
		return 1
	case r >= 100:
		return 4.5
	}
	// The cubic dips just under 1 for R below about 6.5.
	return max(1, 1+0.035*r+r*(r-60)*(100-r)*7e-6)
}
