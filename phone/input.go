package phone

// inputStages are the input router's stages in order. A hard key goes to
// each in turn until one takes it: an open text entry first, then the lock
// screen, the menu, and last the idle and call screens. A new screen that
// takes keys (a sign-in code entry, the lock screen's PIN) is a stage here.
var inputStages = [...]func(*Phone, Key) bool{
	(*Phone).promptKey,
	func(p *Phone, k Key) bool { return p.s.lock.key(k) },
	(*Phone).menuKey,
	(*Phone).callKey,
}

// handleKey is the phone's reaction to a hard key.
func (p *Phone) handleKey(k Key) {
	if _, digit := k.Digit(); digit && p.enteringPIN() {
		p.logf("key", "debug", "key", "key *") // a PIN never reaches the log
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
		KeyMenu:     (*Phone).toggleMenu,
		KeyHome:     (*Phone).goHome,
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

// callKey is the last stage of the input router: the idle and call screens
// take the dial keys and the phone's function keys.
func (p *Phone) callKey(k Key) bool {
	if c, ok := k.Digit(); ok {
		p.s.calls.keypad(c)
		return true
	}
	f, ok := callKeys[k]
	if ok {
		f(p)
	}
	return ok
}
