// The call history: the missed, received and placed calls of each account
// that used the phone, the newest first, kept in the state directory.

package phone

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deskphone/deskphone/internal/atomicfile"
	"github.com/deskphone/deskphone/phone/catalog"
	"github.com/deskphone/deskphone/phone/statedir"
)

// HistoryFile keeps the call history of each account (signed-in user)
// that used the phone.
const HistoryFile = "callhistory.json"

// The call history's lists, as the history verb names them.
const (
	HistoryMissed   = "missed"
	HistoryReceived = "received"
	HistoryPlaced   = "placed"
)

// HistoryLists are the lists in the order the history verb prints them.
var HistoryLists = []string{HistoryMissed, HistoryReceived, HistoryPlaced}

// maxHistoryAccounts bounds the accounts the file keeps a history for: a
// phone passed round a team forgets the one that used it least recently.
const maxHistoryAccounts = 8

// HistoryEntry is one call of a history list.
type HistoryEntry struct {
	List   string // missed, received or placed
	Number string // the far party: its user or URI
	Name   string // its display name, when the call brought one
	// Time is when the call rang or was dialled, on the phone's clock.
	Time time.Time
	// Duration is how long the call was up; zero when never answered.
	Duration time.Duration
}

// Pairs lists the entry as ordered key=value pairs, as the history command
// prints them.
func (e HistoryEntry) Pairs() [][2]string {
	return [][2]string{
		{"list", e.List},
		{"number", e.Number},
		{"name", e.Name},
		{"time", e.Time.Format(time.RFC3339)},
		{"duration", formatDuration(e.Duration)},
	}
}

// historyDocument is HistoryFile: each account's lists by its user.
type historyDocument struct {
	Version  int                        `json:"version"`
	Accounts map[string]*accountHistory `json:"accounts"`
}

// accountHistory is one account's lists, the newest first.
type accountHistory struct {
	Missed   []historyRecord `json:"missed"`
	Received []historyRecord `json:"received"`
	Placed   []historyRecord `json:"placed"`
	// Unviewed counts the missed calls since the missed list was last
	// viewed: the idle screen's notice and status missed_calls.
	Unviewed int `json:"unviewed"`
	// Used is when the account last logged a call (the least recent
	// account goes first).
	Used time.Time `json:"used"`
}

// historyRecord is an entry as the file keeps it.
type historyRecord struct {
	Number  string    `json:"number"`
	Name    string    `json:"name,omitempty"`
	Time    time.Time `json:"time"`
	Seconds int64     `json:"seconds"`
}

// list is the list named name, nil for an unknown name.
func (a *accountHistory) list(name string) *[]historyRecord {
	switch name {
	case HistoryMissed:
		return &a.Missed
	case HistoryReceived:
		return &a.Received
	case HistoryPlaced:
		return &a.Placed
	}
	return nil
}

// historyFileSpec is how HistoryFile is read: what every save writes.
var historyFileSpec = statedir.File{
	Name:     HistoryFile,
	Required: []string{"version", "accounts"},
	New:      func() any { return &historyDocument{} },
}

// history is the call history part. The machine has none (nil) until the
// first call is logged or the boot finds the file, so an idle phone that
// never called carries nothing. Loop-owned.
type history struct {
	env *partEnv
	max int // entries per list (catalog history.max)
	doc historyDocument
	// damaged: the file did not read back; the phone keeps this boot's
	// calls in memory and never writes over the file, which repair moves
	// aside (status state_damaged names it).
	damaged bool
}

// loadHistory reads the history kept in the state directory (boot); nil
// when there is none.
func loadHistory(env *partEnv, v *catalog.Vendor) *history {
	h := &history{env: env, max: v.History.Max}
	found, err := env.state.Load(historyFileSpec, &h.doc)
	if err != nil {
		env.damaged(HistoryFile)
		env.logf("call", "err", "call", "call history unreadable, kept as it is and not written until repaired: %v", err)
		h.doc, h.damaged = historyDocument{}, true
		return h
	}
	if !found {
		return nil
	}
	return h
}

// account is the lists of user, nil when it has none; nil-safe.
func (h *history) account(user string) *accountHistory {
	if h == nil {
		return nil
	}
	return h.doc.Accounts[user]
}

// unviewed is how many missed calls user has not viewed; nil-safe.
func (h *history) unviewed(user string) int {
	if a := h.account(user); a != nil {
		return a.Unviewed
	}
	return 0
}

// entries is user's list (every list for ""), the newest first; nil-safe.
func (h *history) entries(user, list string) []HistoryEntry {
	a := h.account(user)
	if a == nil {
		return nil
	}
	var out []HistoryEntry
	for _, name := range HistoryLists {
		if list != "" && list != name {
			continue
		}
		for _, r := range *a.list(name) {
			out = append(out, HistoryEntry{List: name, Number: r.Number, Name: r.Name,
				Time: r.Time, Duration: time.Duration(r.Seconds) * time.Second})
		}
	}
	return out
}

// add logs a call at the head of user's list, dropping the oldest beyond
// the vendor's bound; unviewed counts a missed call toward the notice.
func (h *history) add(user, list string, r historyRecord, unviewed bool) {
	if h.doc.Accounts == nil {
		h.doc.Version, h.doc.Accounts = 1, map[string]*accountHistory{}
	}
	a := h.doc.Accounts[user]
	if a == nil {
		a = &accountHistory{}
		h.doc.Accounts[user] = a
		h.dropOldAccounts(user)
	}
	l := a.list(list)
	*l = slices.Insert(*l, 0, r)
	if len(*l) > h.max {
		*l = (*l)[:h.max]
	}
	if unviewed {
		a.Unviewed++
	}
	a.Used = h.env.clock.Now()
	h.save()
}

// dropOldAccounts forgets the accounts used least recently beyond
// maxHistoryAccounts, never keep.
func (h *history) dropOldAccounts(keep string) {
	for len(h.doc.Accounts) > maxHistoryAccounts {
		oldest := ""
		for u, a := range h.doc.Accounts {
			if u != keep && (oldest == "" || a.Used.Before(h.doc.Accounts[oldest].Used) ||
				a.Used.Equal(h.doc.Accounts[oldest].Used) && u < oldest) {
				oldest = u
			}
		}
		delete(h.doc.Accounts, oldest)
	}
}

// viewed marks user's missed calls as seen: the notice goes.
func (h *history) viewed(user string) {
	if a := h.account(user); a != nil && a.Unviewed > 0 {
		a.Unviewed = 0
		h.save()
	}
}

// save replaces the file atomically; a damaged file is never written
// over, and a failure is logged and the phone goes on with the history in
// memory.
func (h *history) save() {
	if h.damaged {
		return
	}
	data, err := json.MarshalIndent(&h.doc, "", "  ")
	if err == nil {
		err = atomicfile.Write(filepath.Join(h.env.state.Path, HistoryFile), append(data, '\n'), 0o600)
	}
	if err != nil {
		h.env.logf("call", "err", "call", "saving the call history failed: %v", err)
	}
}

// historyUser is the account whose history the phone shows: the line's
// user, else the signed-in user's.
func historyUser(p *Phone) string {
	if u := p.s.cfg.Account.User; u != "" {
		return u
	}
	if t := p.s.session.Tokens(); t != nil {
		return t.User
	}
	return ""
}

// logCall logs a call that ended in its list: an incoming call answered
// is received, one never answered missed (unviewed unless the user
// declined it), an outgoing one placed. A number dialled but never
// placed is no call.
func (cs *calls) logCall(c *call) {
	p := cs.p
	list := HistoryPlaced
	switch {
	case c.dir == callNone || c.remote == "":
		return
	case c.dir == callIn && c.start.IsZero():
		list = HistoryMissed
	case c.dir == callIn:
		list = HistoryReceived
	}
	cs.logHistory(list, historyRecord{Number: c.remote, Name: c.remoteName, Time: c.at,
		Seconds: int64(c.duration(p.clock.Now()) / time.Second)}, list == HistoryMissed && !c.declined)
}

// logHistory adds r to the list of the account in use, making the
// history part on the first call.
func (cs *calls) logHistory(list string, r historyRecord, unviewed bool) {
	p := cs.p
	if p.s.history == nil {
		p.s.history = &history{env: &p.env, max: p.model.Vendor.History.Max}
	}
	p.s.history.add(historyUser(p), list, r, unviewed)
}

// historyLines are the idle screen's notice of unviewed missed calls, in
// the vendor's wording.
func historyLines(p *Phone) []Line {
	n := p.s.history.unviewed(historyUser(p))
	if n == 0 {
		return nil
	}
	return []Line{{Text: strings.ReplaceAll(p.model.Vendor.History.Notice, "{n}", strconv.Itoa(n))}}
}

// showHistory opens a list's screen from the menu: one entry per call,
// whose OK (or Select softkey, or digit) is dial: it calls its number. Viewing the
// missed calls clears the notice.
func showHistory(p *Phone, list string, action catalog.Action) {
	if !p.s.calls.idle() {
		return
	}
	user := historyUser(p)
	entries := p.s.history.entries(user, list)
	now, hours := p.clock.Now(), timeFormat(&p.s.policy, &p.s.cfg, p.model.Vendor)
	items := make([]*catalog.Item, len(entries))
	numbers := make([]string, len(entries))
	for i, e := range entries {
		who := e.Name
		if who == "" {
			who = e.Number
		}
		when := formatClock(e.Time, hours)
		if y, m, d := e.Time.Date(); y != now.Year() || m != now.Month() || d != now.Day() {
			when = e.Time.Format(p.model.Vendor.DateFormat) + " " + when
		}
		items[i] = &catalog.Item{Label: who + "  " + when, Action: catalog.ActionDial}
		numbers[i] = e.Number
	}
	title := historyTitle(p.model.Vendor.Menu, action)
	if title == "" {
		title = strings.ToUpper(list[:1]) + list[1:] + " Calls"
	}
	p.s.menu.openList(title, items, numbers, p.model.Vendor.History.Empty)
	if list == HistoryMissed {
		p.s.history.viewed(user)
	}
}

// historyTitle is the label of the menu entry bound to action, the list's
// title in the vendor's words.
func historyTitle(items []*catalog.Item, action catalog.Action) string {
	for _, it := range items {
		if it.Action == action {
			return it.Label
		}
		if t := historyTitle(it.Items, action); t != "" {
			return t
		}
	}
	return ""
}

// History lists the call history of the account in use, the newest first:
// one list (missed, received or placed), or all of them for "". Listing
// the missed calls marks them viewed, as opening the list on the phone
// does.
func (l Calls) History(list string) ([]HistoryEntry, error) {
	if list != "" && !slices.Contains(HistoryLists, list) {
		return nil, fmt.Errorf("no call list %q (lists: %s)", list, strings.Join(HistoryLists, ", "))
	}
	p := l.p
	var out []HistoryEntry
	err := p.doErr(func() error {
		user := historyUser(p)
		out = p.s.history.entries(user, list)
		if list == "" || list == HistoryMissed {
			p.s.history.viewed(user)
		}
		return nil
	})
	return out, err
}
