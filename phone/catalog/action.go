package catalog

import (
	"fmt"
	"strings"
)

// Action is a phone action a softkey or menu entry is bound to. The catalog
// names actions as strings; they are parsed when it loads, so an unknown
// name is a load error and the firmware dispatches on these values alone.
type Action int

// The phone actions. ActionNone is the zero value: a menu entry that opens a
// submenu or an information screen has no action.
const (
	ActionNone Action = iota
	ActionMenu
	ActionHome
	ActionBack
	ActionOK
	ActionUp
	ActionDown
	ActionOpen
	ActionDial
	ActionBackspace
	ActionCancel
	ActionRedial
	ActionDND
	ActionAnswer
	ActionReject
	ActionHangup
	ActionHold
	ActionResume
	ActionTransfer
	ActionMute
	ActionMessage
	ActionMore
	ActionReboot
	ActionTimeFormat
	ActionCAImport
	ActionLock
	ActionUnlock
	ActionEmergency
	ActionPIN
	ActionUpdateNow
	ActionUpdatePostpone
	ActionUpdateCheck
	// The sign-in part's actions: choose a method, ask for a new web
	// sign-in code, cancel, sign out.
	ActionSignInWeb
	ActionSignInUser
	ActionSignInPIN
	ActionSignInPC
	ActionSignInRetry
	ActionSignInCancel
	ActionSignOut
	// The line's calls: let a waiting call ring out unanswered, hold the
	// call and dial another, move between two calls.
	ActionIgnore
	ActionNewCall
	ActionSwap
	// The conference's: join the held call and the current one, split
	// them back into two calls.
	ActionConference
	ActionSplit
	// The call history's: open the missed, received or placed calls (the
	// missed list marks them viewed); OK on an entry dials it.
	ActionHistoryMissed
	ActionHistoryReceived
	ActionHistoryPlaced
	// Call forwarding: ask for a target and forward every call, calls
	// while busy, or calls not answered; turn it off.
	ActionForwardAlways
	ActionForwardBusy
	ActionForwardNoAnswer
	ActionForwardOff
	// ActionFactoryReset clears the state directory but the phone's
	// identity and firmware, and reboots (as `deskphone state reset`).
	ActionFactoryReset
	// The Teams SIP Gateway's: start pairing (Sign In), a new code (Back).
	ActionGatewaySignIn
	ActionGatewayBack
	// ActionCount is one past the last action: the size of a table indexed
	// by Action.
	ActionCount
)

var actionNames = [ActionCount]string{
	ActionNone: "", ActionMenu: "menu", ActionHome: "home", ActionBack: "back",
	ActionOK: "ok", ActionUp: "up", ActionDown: "down", ActionOpen: "open",
	ActionDial: "dial", ActionBackspace: "backspace", ActionCancel: "cancel",
	ActionRedial: "redial", ActionDND: "dnd", ActionAnswer: "answer",
	ActionReject: "reject", ActionHangup: "hangup", ActionHold: "hold",
	ActionResume: "resume", ActionTransfer: "transfer", ActionMute: "mute",
	ActionMessage: "message", ActionMore: "more", ActionReboot: "reboot",
	ActionTimeFormat: "time_format", ActionCAImport: "ca_import",
	ActionLock: "lock", ActionUnlock: "unlock", ActionEmergency: "emergency",
	ActionPIN:       "pin",
	ActionUpdateNow: "update_now", ActionUpdatePostpone: "update_postpone",
	ActionUpdateCheck: "update_check",
	ActionSignInWeb:   "signin_web", ActionSignInUser: "signin_user",
	ActionSignInPIN: "signin_pin", ActionSignInPC: "signin_pc",
	ActionSignInRetry: "signin_retry", ActionSignInCancel: "signin_cancel",
	ActionSignOut: "signout",
	ActionIgnore:  "ignore", ActionNewCall: "new_call", ActionSwap: "swap",
	ActionConference: "conference", ActionSplit: "split",
	ActionHistoryMissed: "history_missed", ActionHistoryReceived: "history_received",
	ActionHistoryPlaced: "history_placed",
	ActionForwardAlways: "forward_always", ActionForwardBusy: "forward_busy",
	ActionForwardNoAnswer: "forward_noanswer", ActionForwardOff: "forward_off",
	ActionFactoryReset:  "factory_reset",
	ActionGatewaySignIn: "gateway_signin", ActionGatewayBack: "gateway_back",
}

// Actions are the action names a softkey or menu entry may give, in the
// order docs/catalog.md lists them.
var Actions = actionNames[ActionNone+1:]

// ParseAction reads an action name as the catalog writes it.
func ParseAction(name string) (Action, error) {
	for a, n := range actionNames {
		if Action(a) != ActionNone && n == name {
			return Action(a), nil
		}
	}
	return ActionNone, fmt.Errorf("unknown action %q (actions: %s)", name, strings.Join(Actions, ", "))
}

// String is the action's catalog name; it never panics.
func (a Action) String() string {
	switch {
	case a == ActionNone:
		return "none"
	case a < 0 || a >= ActionCount:
		return fmt.Sprintf("unknown(%d)", int(a))
	}
	return actionNames[a]
}
