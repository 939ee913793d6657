package phone

import "github.com/deskphone/deskphone/phone/catalog"

// actions are the phone's reactions to the catalog's actions, indexed by
// action; each is a method of the part it belongs to. The catalog parses
// action names when it loads, so every action a softkey or menu entry can
// name is here (a test checks it). Open is done by pressSoftkey, which has
// the softkey's menu path.
var actions [catalog.ActionCount]func(*Phone)

func init() {
	actions = [catalog.ActionCount]func(*Phone){
		catalog.ActionMenu: func(p *Phone) { p.s.menu.toggle(p.s.calls.state() == CallIdle) },
		catalog.ActionHome: func(p *Phone) { p.s.menu.close(); p.s.alert = "" },
		catalog.ActionUp:   func(p *Phone) { p.s.menu.move(-1) },
		catalog.ActionDown: func(p *Phone) { p.s.menu.move(+1) },
		catalog.ActionDial: func(p *Phone) {
			// On a call list's entry: call its number.
			if n := p.s.menu.listNumber(); n != "" {
				p.s.menu.close()
				p.s.calls.place(n)
				return
			}
			p.s.calls.dial()
		},
		catalog.ActionBackspace:      func(p *Phone) { p.s.calls.backspace() },
		catalog.ActionCancel:         func(p *Phone) { p.s.calls.endBy(catalog.ActionCancel) },
		catalog.ActionHangup:         func(p *Phone) { p.s.calls.endBy(catalog.ActionHangup) },
		catalog.ActionReject:         func(p *Phone) { p.s.calls.endBy(catalog.ActionReject) },
		catalog.ActionRedial:         func(p *Phone) { p.s.calls.redial() },
		catalog.ActionDND:            func(p *Phone) { p.s.settings.toggleDND() },
		catalog.ActionMute:           func(p *Phone) { p.s.calls.toggleMute() },
		catalog.ActionMessage:        func(p *Phone) { p.s.calls.voicemail() },
		catalog.ActionMore:           func(p *Phone) { p.s.page++ },
		catalog.ActionReboot:         (*Phone).reboot,
		catalog.ActionCAImport:       func(p *Phone) { importCA(&p.s.entry, p.s.cas, p.env) },
		catalog.ActionTimeFormat:     func(p *Phone) { p.s.settings.toggleTimeFormat(timeFormat(&p.s.policy, &p.s.cfg, p.model.Vendor)) },
		catalog.ActionAnswer:         func(p *Phone) { p.s.calls.answer() },
		catalog.ActionHold:           func(p *Phone) { p.s.calls.hold(true) },
		catalog.ActionResume:         func(p *Phone) { p.s.calls.hold(false) },
		catalog.ActionTransfer:       func(p *Phone) { p.s.calls.startTransfer() },
		catalog.ActionConference:     func(p *Phone) { p.s.calls.joinKey() },
		catalog.ActionSplit:          func(p *Phone) { p.s.calls.splitKey() },
		catalog.ActionLock:           func(p *Phone) { p.s.lock.action() },
		catalog.ActionUnlock:         func(p *Phone) { p.s.lock.submit() },
		catalog.ActionEmergency:      func(p *Phone) { p.s.lock.emergency() },
		catalog.ActionPIN:            func(p *Phone) { p.s.lock.pinAction() },
		catalog.ActionUpdateNow:      func(p *Phone) { p.upd.Report(p.upd.Now()) },
		catalog.ActionUpdatePostpone: func(p *Phone) { p.upd.Report(p.upd.Postpone()) },
		catalog.ActionUpdateCheck: func(p *Phone) {
			p.upd.Input()
			p.upd.Check("manual")
		},
		// OK submits an open text entry, else selects in the menu, else
		// dials or answers on the idle and call screens.
		catalog.ActionOK: func(p *Phone) {
			if !p.s.entry.ok() && !p.s.menu.ok() {
				p.s.calls.ok()
			}
		},
		// Back goes up a menu level, else takes a digit back.
		catalog.ActionBack: func(p *Phone) {
			if !p.s.menu.back() {
				p.s.calls.back()
			}
		},
	}
	actions[catalog.ActionIgnore] = func(p *Phone) { p.s.calls.ignore() }
	actions[catalog.ActionNewCall] = func(p *Phone) { _ = p.s.calls.newCall() }
	actions[catalog.ActionSwap] = func(p *Phone) { _ = p.s.calls.swap() }
	actions[catalog.ActionHistoryMissed] = func(p *Phone) { showHistory(p, HistoryMissed, catalog.ActionHistoryMissed) }
	actions[catalog.ActionHistoryReceived] = func(p *Phone) { showHistory(p, HistoryReceived, catalog.ActionHistoryReceived) }
	actions[catalog.ActionHistoryPlaced] = func(p *Phone) { showHistory(p, HistoryPlaced, catalog.ActionHistoryPlaced) }
	for a, mode := range map[catalog.Action]string{
		catalog.ActionForwardAlways: "always", catalog.ActionForwardBusy: "busy", catalog.ActionForwardNoAnswer: "noanswer",
	} {
		actions[a] = func(p *Phone) { p.s.calls.askForward(mode) }
	}
	actions[catalog.ActionForwardOff] = func(p *Phone) { p.s.calls.setForward(nil) }
	actions[catalog.ActionFactoryReset] = factoryReset
	addSignInActions(&actions)
	addGatewayActions(&actions)
}

// action performs a phone action, from a softkey or the menu. Actions that
// do not apply in the current state do nothing, as on a real phone.
func (p *Phone) action(a catalog.Action) {
	if a > catalog.ActionNone && a < catalog.ActionCount && actions[a] != nil {
		actions[a](p)
	}
}

// pressSoftkey presses softkey n of the current screen.
func (p *Phone) pressSoftkey(n int) error {
	keys := p.softkeys()
	if n < 1 || n > p.model.Display.Softkeys {
		return errorf(ErrNoSuchSoftkey, "softkey %d: this phone has softkeys 1-%d", n, p.model.Display.Softkeys)
	}
	if n > len(keys) || keys[n-1].Label == "" {
		return errorf(ErrNoSuchSoftkey, "softkey %d is blank on this screen", n)
	}
	k := keys[n-1]
	p.upd.Input()
	p.logf("key", "debug", "key", "softkey %d %q", n, k.Label)
	p.userActivity()
	if k.Action == catalog.ActionOpen {
		p.s.menu.openPath(k.Open)
		return nil
	}
	p.action(k.Action)
	return nil
}
