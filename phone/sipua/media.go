package sipua

import (
	"fmt"

	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/media/sdp"
)

// placeholderPort is the RTP port offered without a media engine: port 0
// would mean "stream refused" (RFC 3264); 9 is the discard service.
const placeholderPort = 9

// formats are the codecs answered without a media engine.
var formats = []sdp.Format{sdp.G722, sdp.PCMU, sdp.PCMA, sdp.TelephoneEvent}

// OfferCodecs are the codecs of a UA's next offer, in order: the media
// engine's (without one, G.722, PCMU and PCMA) as the codec order
// (PrioritizedCodecsList) prefers them.
func OfferCodecs(e *media.Engine, order string) []codecs.Codec {
	have := []codecs.Codec{codecs.G722, codecs.PCMU, codecs.PCMA}
	if e != nil {
		have = e.Codecs()
	}
	return codecs.Prefer(have, order)
}

// placeholderFormats are what a UA without a media engine offers.
func placeholderFormats(order string) []sdp.Format {
	var out []sdp.Format
	for _, c := range OfferCodecs(nil, order) {
		out = append(out, sdp.Format{PT: c.PayloadType, Name: c.Name, Rate: c.ClockRate, Channels: 1})
	}
	return append(out, sdp.TelephoneEvent)
}

// session returns the call's media session, creating it on first use.
func (u *UA) session(c *call) (*media.Session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ms != nil || u.cfg.Media == nil {
		return c.ms, nil
	}
	ms, err := u.cfg.Media.NewSession()
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if u.cfg.Source != nil {
		ms.SetSource(u.cfg.Source())
	}
	if order := u.codecOrder(); order != "" {
		ms.PreferCodecs(order)
	}
	c.ms = ms
	return ms, nil
}

// offer makes our offer (a new call, or hold/resume in one).
func (u *UA) offer(c *call, dir sdp.Direction) (*sdp.Session, error) {
	ms, err := u.session(c)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case ms != nil:
		c.local = ms.Reoffer(dir)
	case c.local != nil:
		c.local = c.local.Reoffer(dir)
	default:
		c.local = sdp.NewOffer(u.localAddr(), placeholderPort, placeholderFormats(u.codecOrder()), dir)
	}
	return c.local, nil
}

// answer answers the far end's offer (a new call or a re-INVITE); an error
// means 488.
func (u *UA) answer(c *call, offer *sdp.Session) (*sdp.Session, error) {
	ms, err := u.session(c)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ans *sdp.Session
	if ms != nil {
		ans, err = ms.Answer(offer, sdp.SendRecv)
	} else {
		port := placeholderPort
		if c.local != nil {
			port = c.local.Media.Port
		}
		ans, err = sdp.Answer(offer, u.localAddr(), port, formats, sdp.SendRecv)
		if err == nil && c.local != nil {
			ans.SessionID, ans.SessionVersion = c.local.SessionID, c.local.SessionVersion+1
		}
	}
	if err != nil {
		return nil, err
	}
	c.local = ans
	return ans, nil
}

// accept applies the far end's answer to our offer and starts the audio.
func (u *UA) accept(c *call, body []byte) error {
	c.mu.Lock()
	ms := c.ms
	c.mu.Unlock()
	if ms == nil {
		return nil
	}
	ans, err := sdp.Parse(body)
	if err != nil {
		return fmt.Errorf("answer SDP: %w", err)
	}
	if err := ms.Accept(ans); err != nil {
		return err
	}
	return ms.Start()
}

// startMedia starts the audio of an answered incoming call.
func (u *UA) startMedia(c *call) {
	c.mu.Lock()
	ms := c.ms
	c.mu.Unlock()
	if ms != nil {
		ms.Start()
	}
}

// Media returns the audio session of a call, nil without a media engine.
func (u *UA) Media(id string) (*media.Session, error) {
	c, err := u.call(id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ms, nil
}
