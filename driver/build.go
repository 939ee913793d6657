package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/deskphone/deskphone/clock"
	"github.com/deskphone/deskphone/codecs"
	"github.com/deskphone/deskphone/media"
	"github.com/deskphone/deskphone/phone"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// DefaultCodecs is the in-band policy's PrioritizedCodecsList, the one
// default codec order of every phone and of the mock cloud. G.729 is not
// implemented: a phone skips it with a syslog line, as the real ones skip
// what their firmware lacks.
const DefaultCodecs = "G722_8000;PCMU;PCMA;G729"

// DefaultSRTP is the phones' default SRTP policy.
const DefaultSRTP = "mandatory"

// Spec is everything a phone is built from. The zero value but for Model
// is a phone on the wall clock with a temporary state directory, no
// account and the default media.
type Spec struct {
	// Catalog holds the model; nil means the built-in catalog.
	Catalog  *catalog.Catalog
	Model    string
	Firmware string // "": installed in the state directory, else the default
	// StateDir keeps identity, configuration and firmware; "" is a
	// temporary directory removed at Close.
	StateDir string
	// Clock the phone runs on; nil is the wall clock.
	Clock clock.Clock
	// Account to register with; nil keeps the state directory's.
	Account *statedir.Account
	// CA are certificate files imported into the phone's store before it
	// boots, so it trusts them from the start.
	CA []string
	// Media carries the calls; nil builds one from SRTP and Codecs (or
	// takes it from Engines), closed with the phone.
	Media *Media
	// Engines shares one engine per SRTP and codec setting between phones.
	Engines *Engines
	// Tap sees the RTP of the media Build makes (a packet capture); the
	// media of Engines have the Tap of Engines.
	Tap media.Tap
	// SRTP (mandatory, optional, off) and Codecs (the policy's form) set up
	// the media when Media is nil; "" means the defaults.
	SRTP, Codecs string
	// Audio is what calls send: tone:HZ, wav:FILE, silence (default), echo.
	Audio string
	// KeyLog receives TLS secrets in the NSS key log format.
	KeyLog io.Writer
	// ClientCert and ClientKey are PEM files of a TLS client certificate.
	ClientCert, ClientKey string
	// DialTimeout is UserDialTimeoutMS; 0 is the phone's default.
	DialTimeout time.Duration
	// Provisioning is the phone's provisioning server: a Teams SIP
	// Gateway URL onboards the phone (kept in its state directory), any
	// other is a provisioning server that offers firmware; "" keeps the
	// state directory's.
	Provisioning string
	// MAC is the MAC address of a fresh state directory ("" draws one):
	// a phone the cloud knows in advance.
	MAC string
	// Options are more phone options, applied last.
	Options []phone.Option
}

// Build builds the phone of spec and starts it on ctx. stop closes the
// phone and the media it built for it.
func Build(ctx context.Context, spec Spec) (p *phone.Phone, stop func() error, err error) {
	cat := spec.Catalog
	if cat == nil {
		if cat, err = catalog.Builtin(); err != nil {
			return nil, nil, err
		}
	}
	m, err := cat.Model(spec.Model)
	if err != nil {
		return nil, nil, err
	}
	if (spec.ClientCert == "") != (spec.ClientKey == "") {
		return nil, nil, errors.New("a client certificate needs its key, and a key its certificate")
	}
	md, own := spec.Media, false
	if md == nil {
		if spec.Engines != nil {
			md, err = spec.Engines.Get(spec.SRTP, spec.Codecs)
		} else {
			md, err = NewTappedMedia(spec.SRTP, spec.Codecs, spec.Tap)
			own = true
		}
		if err != nil {
			return nil, nil, err
		}
	}
	closeMedia := func() {
		if own {
			md.Close()
		}
	}
	opts := []phone.Option{phone.WithMedia(md.Engine), phone.WithMediaNotes(md.Notes...)}
	if spec.Clock != nil {
		opts = append(opts, phone.WithClock(spec.Clock))
	}
	if spec.StateDir != "" {
		opts = append(opts, phone.WithStateDir(spec.StateDir))
	}
	if spec.Account != nil {
		opts = append(opts, phone.WithAccount(*spec.Account))
	}
	if spec.Audio != "" {
		opts = append(opts, phone.WithAudioSource(spec.Audio))
	}
	if spec.KeyLog != nil {
		opts = append(opts, phone.WithKeyLog(spec.KeyLog))
	}
	if spec.ClientCert != "" {
		opts = append(opts, phone.WithClientCertificate(spec.ClientCert, spec.ClientKey))
	}
	if spec.DialTimeout != 0 {
		opts = append(opts, phone.WithDialTimeout(spec.DialTimeout))
	}
	if spec.Provisioning != "" {
		opts = append(opts, phone.WithProvisioningServer(spec.Provisioning))
	}
	if spec.MAC != "" {
		opts = append(opts, phone.WithMAC(spec.MAC))
	}
	p, err = phone.New(m, spec.Firmware, append(opts, spec.Options...)...)
	if err != nil {
		closeMedia()
		return nil, nil, err
	}
	for _, f := range spec.CA {
		if _, err := p.CAStore().ImportFile(f); err != nil {
			// Closing a phone never started releases its state directory
			// and removes it when it was a temporary one.
			p.Close()
			closeMedia()
			return nil, nil, fmt.Errorf("%w: %w", ErrCA, err)
		}
	}
	p.Start(ctx)
	return p, func() error {
		err := p.Close()
		closeMedia()
		return err
	}, nil
}

// Media is a media engine with the notes its policy left: the codecs it
// had to skip, for the phone's syslog.
type Media struct {
	Engine *media.Engine
	Notes  []string
}

// Errors of Build and NewMedia, for front ends that name their own flags.
var (
	ErrCA       = errors.New("ca")
	ErrSRTP     = errors.New("srtp")
	ErrNoCodecs = errors.New("none of the codecs is supported (PCMU, PCMA, G722)")
)

// NewMedia builds a media engine for an SRTP policy and a codec list in
// the policy's form ("" for the defaults).
func NewMedia(srtp, codecList string) (*Media, error) { return NewTappedMedia(srtp, codecList, nil) }

// NewTappedMedia is NewMedia with tap seeing every RTP packet in the
// clear (nil: none), for a packet capture.
func NewTappedMedia(srtp, codecList string, tap media.Tap) (*Media, error) {
	return NewMediaOn(srtp, codecList, tap, media.PortsShared)
}

// NewMediaOn is NewTappedMedia with the engine's calls on ports as given:
// shared by the calls, or a pair of their own for far ends that need it.
func NewMediaOn(srtp, codecList string, tap media.Tap, ports media.Ports) (*Media, error) {
	if srtp == "" {
		srtp = DefaultSRTP
	}
	if codecList == "" {
		codecList = DefaultCodecs
	}
	mode, err := media.ParseMode(srtp)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSRTP, err)
	}
	cs, skipped := codecs.ParseOrder(codecList)
	if len(cs) == 0 {
		return nil, fmt.Errorf("codecs %q: %w", codecList, ErrNoCodecs)
	}
	var notes []string
	for _, name := range skipped {
		notes = append(notes, fmt.Sprintf("codec %s from the codec list is not supported; skipped", name))
	}
	e, err := media.NewEngine(media.Config{SRTP: mode, Codecs: cs, Tap: tap, Ports: ports})
	if err != nil {
		return nil, fmt.Errorf("media engine: %w", err)
	}
	return &Media{Engine: e, Notes: notes}, nil
}

// CloudMedia is the mock cloud's media: SRTP when the caller offers it,
// plain RTP otherwise, the default codecs.
func CloudMedia() (*Media, error) { return NewMedia("optional", DefaultCodecs) }

// Close stops the engine.
func (m *Media) Close() { m.Engine.Close() }

// Engines shares media between the phones of one process: one engine per
// distinct SRTP policy and codec list.
type Engines struct {
	// Tap, set before the first Get, sees the RTP of every engine.
	Tap media.Tap
	// Ports, set before the first Get, is how every engine maps its calls
	// onto local ports.
	Ports media.Ports

	mu sync.Mutex
	m  map[string]*Media
}

// Get returns the media for srtp and codecList ("" for the defaults),
// building it on first use.
func (e *Engines) Get(srtp, codecList string) (*Media, error) {
	if srtp == "" {
		srtp = DefaultSRTP
	}
	if codecList == "" {
		codecList = DefaultCodecs
	}
	key := srtp + "|" + codecList
	e.mu.Lock()
	defer e.mu.Unlock()
	if md, ok := e.m[key]; ok {
		return md, nil
	}
	md, err := NewMediaOn(srtp, codecList, e.Tap, e.Ports)
	if err != nil {
		return nil, err
	}
	if e.m == nil {
		e.m = map[string]*Media{}
	}
	e.m[key] = md
	return md, nil
}

// Close stops every engine.
func (e *Engines) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, md := range e.m {
		md.Close()
	}
	e.m = nil
}
