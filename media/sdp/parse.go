package sdp

import (
	"fmt"
	"strconv"
	"strings"
)

// Parse reads a session description. It accepts CRLF or LF line ends,
// ignores blank lines, unknown line types and unknown attributes, and
// fills in rtpmap data for static payload types that lack one. Errors are
// *ParseError values naming the line.
func Parse(data []byte) (*Session, error) {
	if len(data) > MaxSize {
		return nil, &ParseError{Err: fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxSize)}
	}
	p := parser{}
	lines := strings.Split(string(data), "\n")
	for i, raw := range lines {
		line := strings.TrimSuffix(raw, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := p.line(i+1, line); err != nil {
			return nil, err
		}
	}
	return p.finish()
}

// parser is the state of one Parse call.
type parser struct {
	s          Session
	sawVersion bool
	sawOrigin  bool

	sessionConn string
	sessionDir  Direction
	sessionHas  bool // a session-level direction attribute was seen

	mediaCount int  // m= lines seen so far
	inAudio    bool // the current section is the audio stream
	audioSeen  bool
	audioConn  string
	audioDir   Direction
	audioHas   bool
	rtpmaps    map[uint8]Format
	fmtps      map[uint8]string
}

func (p *parser) line(n int, line string) error {
	if err := checkLine(line); err != nil {
		return lineError(n, line, err)
	}
	typ, value := line[0], line[2:]
	if !p.sawVersion {
		if typ != 'v' || value != "0" {
			return lineError(n, line, ErrVersion)
		}
		p.sawVersion = true
		return nil
	}
	var err error
	switch typ {
	case 'v':
		err = fmt.Errorf("%w: second version line", ErrSyntax)
	case 'o':
		err = p.origin(value)
	case 's':
		if p.mediaCount == 0 {
			p.s.Name = value
		}
	case 'c':
		err = p.connection(value)
	case 'm':
		err = p.media(value)
	case 'a':
		err = p.attribute(value)
	default:
		// i, u, e, p, b, t, r, z, k and unknown letters carry nothing
		// we use.
	}
	if err != nil {
		return lineError(n, line, err)
	}
	return nil
}

// checkLine enforces <type>=<value> with a lower-case letter and no
// control characters other than tab.
func checkLine(line string) error {
	if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
		return fmt.Errorf("%w: want <letter>=<value>", ErrSyntax)
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("%w: control character 0x%02x", ErrSyntax, c)
		}
	}
	return nil
}

func (p *parser) origin(value string) error {
	if p.sawOrigin {
		return fmt.Errorf("%w: second origin line", ErrSyntax)
	}
	f := strings.Fields(value)
	if len(f) != 6 {
		return fmt.Errorf("%w: origin wants 6 fields, has %d", ErrSyntax, len(f))
	}
	id, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: session id %q", ErrSyntax, f[1])
	}
	ver, err := strconv.ParseUint(f[2], 10, 64)
	if err != nil {
		return fmt.Errorf("%w: session version %q", ErrSyntax, f[2])
	}
	if err := checkAddrType(f[3], f[4]); err != nil {
		return err
	}
	p.sawOrigin = true
	p.s.Username, p.s.SessionID, p.s.SessionVersion, p.s.OriginAddr = f[0], id, ver, f[5]
	return nil
}

func checkAddrType(net, typ string) error {
	if net != "IN" {
		return fmt.Errorf("%w: network type %q, want IN", ErrSyntax, net)
	}
	if typ != "IP4" && typ != "IP6" {
		return fmt.Errorf("%w: address type %q, want IP4 or IP6", ErrSyntax, typ)
	}
	return nil
}

func (p *parser) connection(value string) error {
	f := strings.Fields(value)
	if len(f) != 3 {
		return fmt.Errorf("%w: connection wants 3 fields, has %d", ErrSyntax, len(f))
	}
	if err := checkAddrType(f[0], f[1]); err != nil {
		return err
	}
	// Multicast addresses carry /ttl[/count]; a phone only needs the host.
	addr, _, _ := strings.Cut(f[2], "/")
	if addr == "" {
		return fmt.Errorf("%w: empty connection address", ErrSyntax)
	}
	switch {
	case p.mediaCount == 0:
		p.sessionConn = addr
	case p.inAudio:
		p.audioConn = addr
	}
	return nil
}

func (p *parser) media(value string) error {
	index := p.mediaCount
	p.mediaCount++
	p.inAudio = false
	f := strings.Fields(value)
	if len(f) < 4 {
		return fmt.Errorf("%w: media wants at least 4 fields, has %d", ErrSyntax, len(f))
	}
	portStr, _, _ := strings.Cut(f[1], "/") // <port>/<number of ports>
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return fmt.Errorf("%w: port %q", ErrSyntax, f[1])
	}
	if f[0] != "audio" || p.audioSeen {
		p.s.Other = append(p.s.Other, OtherMedia{
			Index:   index,
			Type:    f[0],
			Port:    int(port),
			Profile: f[2],
			Formats: append([]string(nil), f[3:]...),
		})
		return nil
	}
	formats := make([]Format, 0, len(f)-3)
	for _, tok := range f[3:] {
		pt, err := strconv.ParseUint(tok, 10, 8)
		if err != nil || pt > 127 {
			return fmt.Errorf("%w: payload type %q, want 0-127", ErrSyntax, tok)
		}
		for _, prev := range formats {
			if prev.PT == uint8(pt) {
				return fmt.Errorf("%w: payload type %d listed twice", ErrSyntax, pt)
			}
		}
		formats = append(formats, Format{PT: uint8(pt)})
	}
	p.audioSeen, p.inAudio = true, true
	p.s.Media = Media{Port: int(port), Profile: f[2], Formats: formats}
	p.rtpmaps = map[uint8]Format{}
	p.fmtps = map[uint8]string{}
	return nil
}

func (p *parser) attribute(value string) error {
	name, arg, _ := strings.Cut(value, ":")
	if dir, ok := parseDirection(name); ok {
		switch {
		case p.mediaCount == 0:
			p.sessionDir, p.sessionHas = dir, true
		case p.inAudio:
			p.audioDir, p.audioHas = dir, true
		}
		return nil
	}
	if !p.inAudio {
		return nil
	}
	switch name {
	case "rtpmap":
		return p.rtpmap(arg)
	case "fmtp":
		pt, params, err := ptPrefix(arg)
		if err != nil {
			return err
		}
		p.fmtps[pt] = strings.TrimSpace(params)
	case "ptime":
		ms, err := strconv.ParseUint(strings.TrimSpace(arg), 10, 16)
		if err != nil || ms == 0 {
			return fmt.Errorf("%w: ptime %q", ErrSyntax, arg)
		}
		p.s.Media.PTime = int(ms)
	case "crypto":
		p.crypto(arg)
	case "rtcp-mux":
		p.s.Media.RTCPMux = true
	case "ssrc":
		p.ssrc(arg)
	}
	return nil
}

// ssrc keeps the first source of "a=ssrc:<id> <attribute>[:<value>]"
// (RFC 5576 §4.1) and its cname. A malformed line is skipped: the
// attribute is a hint, and a description without it is complete.
func (p *parser) ssrc(arg string) {
	id, rest, _ := strings.Cut(strings.TrimSpace(arg), " ")
	v, err := strconv.ParseUint(id, 10, 32)
	if err != nil || v == 0 {
		return
	}
	m := &p.s.Media
	if m.SSRC != 0 && m.SSRC != uint32(v) {
		return // a second source (FID groups, ...): the first is the audio
	}
	m.SSRC = uint32(v)
	if name, value, ok := strings.Cut(strings.TrimSpace(rest), ":"); ok && name == "cname" && m.CNAME == "" {
		m.CNAME = value
	}
}

// crypto keeps an a=crypto line we can use. Lines with unknown suites,
// malformed keys or a tag already seen are skipped rather than failing
// the description: RFC 4568 §7.1.2 has the answerer ignore what it
// cannot use, and the offer may still hold a line it can.
func (p *parser) crypto(arg string) {
	c, err := ParseCrypto(arg)
	if err != nil {
		return
	}
	for _, prev := range p.s.Media.Crypto {
		if prev.Tag == c.Tag {
			return
		}
	}
	p.s.Media.Crypto = append(p.s.Media.Crypto, c)
}

// rtpmap parses "<pt> <name>/<rate>[/<channels>]".
func (p *parser) rtpmap(arg string) error {
	pt, enc, err := ptPrefix(arg)
	if err != nil {
		return err
	}
	parts := strings.Split(strings.TrimSpace(enc), "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || strings.ContainsAny(parts[0], " \t") {
		return fmt.Errorf("%w: rtpmap wants <pt> <name>/<rate>[/<channels>]", ErrSyntax)
	}
	rate, err := strconv.ParseUint(parts[1], 10, 31)
	if err != nil || rate == 0 {
		return fmt.Errorf("%w: clock rate %q", ErrSyntax, parts[1])
	}
	ch := uint64(1)
	if len(parts) == 3 {
		ch, err = strconv.ParseUint(parts[2], 10, 8)
		if err != nil || ch == 0 {
			return fmt.Errorf("%w: channels %q", ErrSyntax, parts[2])
		}
	}
	p.rtpmaps[pt] = Format{PT: pt, Name: parts[0], Rate: int(rate), Channels: int(ch)}
	return nil
}

// ptPrefix splits "<pt> <rest>".
func ptPrefix(arg string) (uint8, string, error) {
	ptStr, rest, _ := strings.Cut(arg, " ")
	pt, err := strconv.ParseUint(ptStr, 10, 8)
	if err != nil || pt > 127 {
		return 0, "", fmt.Errorf("%w: payload type %q, want 0-127", ErrSyntax, ptStr)
	}
	return uint8(pt), rest, nil
}

func (p *parser) finish() (*Session, error) {
	switch {
	case !p.sawVersion:
		return nil, &ParseError{Err: ErrVersion}
	case !p.sawOrigin:
		return nil, &ParseError{Err: ErrNoOrigin}
	case !p.audioSeen:
		return nil, &ParseError{Err: ErrNoAudio}
	}
	s := p.s
	s.ConnectionAddr = p.audioConn
	if s.ConnectionAddr == "" {
		s.ConnectionAddr = p.sessionConn
	}
	if s.ConnectionAddr == "" {
		return nil, &ParseError{Err: ErrNoConnection}
	}
	if strings.TrimSpace(s.Name) == "" {
		s.Name = "-"
	}
	switch {
	case p.audioHas:
		s.Media.Direction = p.audioDir
	case p.sessionHas:
		s.Media.Direction = p.sessionDir
	}
	for i, f := range s.Media.Formats {
		if m, ok := p.rtpmaps[f.PT]; ok {
			f = m
		} else if st, ok := staticFormat(f.PT); ok {
			f = st
		}
		f.Fmtp = p.fmtps[f.PT]
		s.Media.Formats[i] = f
	}
	return &s, nil
}
