package phone

import "github.com/deskphone/deskphone/phone/catalog"

// inputStages are the input router's stages in order. A hard key goes to
// each in turn until one takes it: an open text entry first, then the lock
// screen, the menu, and last the idle and call screens. A new screen that
// takes keys (a sign-in code entry, the lock screen's PIN) is a stage here.
var inputStages = [...]func(*Phone, Key) bool{
	func(p *Phone, k Key) bool { return p.s.entry.key(k) },
	func(p *Phone, k Key) bool { return p.s.lock.key(k) },
	func(p *Phone, k Key) bool { return p.s.menu.key(k) },
	// The idle and call screens take the dial keys and the phone's
	// function keys.
	func(p *Phone, k Key) bool {
		if c, ok := k.Digit(); ok {
			p.s.calls.keypad(c)
			return true
		}
		f, ok := callKeys[k]
		if ok {
			f(p)
		}
		return ok
	},
}

// inputParts are the input router's screens of a new boot, the menu and
// the text entry, wired to their phone.
func inputParts(p *Phone) (menu, entry) {
	m := menu{env: menuEnv{
		vendor:    p.model.Vendor,
		expand:    p.expand,
		logf:      p.logf,
		run:       p.action,
		firstPage: func() { p.s.page = 0 },
		left:      func(depth int) { p.s.entry.left(depth) },
	}}
	return m, entry{menuDepth: func() int { return p.s.menu.depth() }}
}

// handleKey is the phone's reaction to a hard key.
func (p *Phone) handleKey(k Key) {
	// A PIN never reaches the log: the keypad types one into a secret
	// entry, or on the lock screen when no entry is open over it.
	pin := p.s.entry.secret() || !p.s.entry.isOpen() && p.s.lock.onScreen()
	if _, digit := k.Digit(); digit && pin {
		p.logf("key", "debug", "key", "key *")
	} else {
		p.logf("key", "debug", "key", "key %s", k)
	}
	p.userActivity()
	p.upd.Input()
	for _, stage := range inputStages {
		if stage(p, k) {
			return
		}
	}
}

// callKeys are what the hard keys do on the idle and call screens, where
// they are not dial keys.
var callKeys map[Key]func(*Phone)

func init() {
	callKeys = map[Key]func(*Phone){
		KeyOK:       func(p *Phone) { p.s.calls.ok() },
		KeyRight:    func(p *Phone) { p.s.calls.ok() },
		KeyBack:     func(p *Phone) { p.s.calls.back() },
		KeyLeft:     func(p *Phone) { p.s.calls.back() },
		KeyMenu:     func(p *Phone) { p.action(catalog.ActionMenu) },
		KeyHome:     func(p *Phone) { p.action(catalog.ActionHome) },
		KeyHook:     func(p *Phone) { p.s.calls.offHook(AudioHandset) },
		KeySpeaker:  func(p *Phone) { p.s.calls.offHook(AudioSpeaker) },
		KeyHeadset:  func(p *Phone) { p.s.calls.offHook(AudioHeadset) },
		KeyMute:     func(p *Phone) { p.s.calls.toggleMute() },
		KeyHold:     func(p *Phone) { p.s.calls.hold(p.s.calls.state() != CallHeld) },
		KeyTransfer: func(p *Phone) { p.s.calls.startTransfer() },
		KeyMessage:  func(p *Phone) { p.s.calls.voicemail() },
		KeyVolUp:    func(p *Phone) { p.s.settings.volume(+1) },
		KeyVolDown:  func(p *Phone) { p.s.settings.volume(-1) },
	}
}
