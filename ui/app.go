// Package ui is the terminal face of one phone, built on tview and tcell. It
// draws the phone's Screen snapshots as a device (bezel, LCD, softkeys, LEDs,
// keypad) and turns terminal keys and clicks into the phone's input calls. It
// holds no phone logic: what a key does is the phone's business, and the only
// state here is how the terminal is laid out.
//
// Goroutines: tview's event loop draws and handles keys; the phone's loop
// publishes screens and log lines. The phone's callbacks only queue a
// wake-up, which a pump goroutine turns into a QueueUpdateDraw, so the phone
// never waits for tview. A worker goroutine makes the phone calls that keys
// and clicks ask for, so tview waits for the phone only when a burst of keys
// fills the worker's queue, and the phone never waits back: no deadlock.
package ui

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/gdamore/tcell/v2"
	"github.com/rivo/tview"

	"github.com/deskphone/deskphone/phone"
)

// logTail is how many of the phone's kept log lines the log pane starts with.
const logTail = 200

// Layout of the log pane.
const (
	minLogWidth  = 32 // beside the phone, when the terminal is this much wider
	logWidth     = 48 // beside the phone, before the phone grows
	logHeight    = 8  // under the phone, before the phone's legend gives way
	minLogHeight = 5  // under the phone, before the LCD gives way: three lines
	// The pane is open from the start when the terminal has this much room
	// beside or under the phone, so that the boot is seen.
	autoLogWidth  = 48
	autoLogHeight = 12
)

// App is the terminal UI of one phone.
type App struct {
	phone  *phone.Phone
	app    *tview.Application
	screen tcell.Screen // from WithScreen; nil opens the terminal

	keys  []binding
	pages *tview.Pages
	main  *tview.Flex
	view  *phoneView
	log   *tview.TextView
	help  *helpView
	feed  logFeed

	// Owned by tview's goroutine.
	showLog, showHelp bool
	logged            bool // the log pane has a line
	drawn             bool // the first draw has chosen whether to show the log

	notify   chan struct{} // cap 1: the phone has something new to show
	inputs   chan action   // keys and clicks for the worker, in order
	stopping chan struct{} // closed by Stop
	stopOnce sync.Once
	started  chan struct{} // closed at the first draw: the event loop runs
	start    sync.Once

	mu      sync.Mutex
	notice  string // the last input's error
	termErr error  // the terminal failed
}

// Option configures an App.
type Option func(*App)

// WithScreen draws on s instead of the terminal. s must be initialised
// (tests: a tcell simulation screen after Init and SetSize); Run finalises it.
func WithScreen(s tcell.Screen) Option {
	return func(a *App) { a.screen = s }
}

// New builds the UI of p. Run shows it.
func New(p *phone.Phone, opts ...Option) *App {
	a := &App{
		phone:    p,
		app:      tview.NewApplication(),
		keys:     keymap(p.Model().Display.Softkeys),
		notify:   make(chan struct{}, 1),
		inputs:   make(chan action, 16),
		stopping: make(chan struct{}),
		started:  make(chan struct{}),
	}
	for _, o := range opts {
		o(a)
	}
	th := defaultTheme()
	a.view = newPhoneView(p, a.keys, th, a.send)
	a.help = newHelpView(a.keys, th)
	a.log = tview.NewTextView().SetWrap(true).SetMaxLines(logKeep).ScrollToEnd()
	a.log.SetBorder(true).SetTitle(" Syslog ")
	a.main = tview.NewFlex()
	a.pages = tview.NewPages().
		AddPage("main", a.main, true, true).
		AddPage("help", a.help, true, false)
	a.app.SetRoot(a.pages, true).
		SetInputCapture(a.onKey).
		SetBeforeDrawFunc(a.beforeDraw)
	return a
}

// Run shows the phone and handles input until the user quits or Stop is
// called. It may be called once.
func (a *App) Run() error {
	scr := a.screen
	if scr == nil {
		s, err := tcell.NewScreen()
		if err != nil {
			return fmt.Errorf("ui: %w", err)
		}
		scr = s
	}
	g := &guardedScreen{Screen: scr, ready: a.screen != nil, fail: a.fail}
	a.app.SetScreen(g)
	if g.initErr != nil {
		return fmt.Errorf("ui: %w", g.initErr)
	}
	a.app.EnableMouse(true)

	cancelScreen := a.phone.Subscribe(a.wake)
	defer cancelScreen()
	cancelLogs := a.feed.follow(a.phone, logTail, a.wake)
	defer cancelLogs()
	a.refresh() // the event loop is not running yet: safe to touch widgets

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a.pump() }()
	go func() { defer wg.Done(); a.work() }()
	err := a.app.Run()
	a.Stop()
	wg.Wait()
	if err == nil {
		a.mu.Lock()
		err = a.termErr
		a.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("ui: %w", err)
	}
	return nil
}

// Stop ends Run. It is safe from any goroutine, and before or after Run.
func (a *App) Stop() {
	a.stopOnce.Do(func() { close(a.stopping) })
}

// wake tells the pump the phone has something new; it never blocks, so the
// phone's goroutine can call it.
func (a *App) wake() {
	select {
	case a.notify <- struct{}{}:
	default:
	}
}

// pump brings phone updates to tview and stops tview's event loop. As the
// only goroutine that stops the loop, it is never left waiting in
// QueueUpdateDraw on a loop that has ended.
func (a *App) pump() {
	for {
		select {
		case <-a.notify:
			a.app.QueueUpdateDraw(a.refresh)
		case <-a.stopping:
			// Stopped before the loop ran, tview would open the terminal.
			<-a.started
			a.app.Stop()
			return
		}
	}
}

// work makes the phone calls keys and clicks ask for, one after another.
func (a *App) work() {
	for {
		select {
		case act := <-a.inputs:
			a.perform(act)
		case <-a.stopping:
			return
		}
	}
}

func (a *App) perform(act action) {
	var err error
	notice := ""
	switch {
	case act.text != "":
		err = a.phone.Type(act.text)
	case act.softkey > 0:
		err = a.phone.Softkey(act.softkey)
	default:
		before := a.phone.Screen().Text()
		err = a.phone.Press(act.key)
		// Press returns once the phone has published the key's effect.
		if err == nil && act.unheeded != "" && a.phone.Screen().Text() == before {
			notice = act.unheeded
		}
	}
	if err != nil {
		notice = err.Error()
	}
	a.mu.Lock()
	changed := notice != a.notice
	a.notice = notice
	a.mu.Unlock()
	if changed {
		a.wake()
	}
	if errors.Is(err, phone.ErrClosed) {
		a.Stop() // nothing is left to drive
	}
}

// send hands an action to the worker. It runs on tview's goroutine and
// waits only for the worker, which never waits for tview.
func (a *App) send(act action) {
	select {
	case a.inputs <- act:
	case <-a.stopping:
	}
}

// fail records a terminal error and stops the UI.
func (a *App) fail(err error) {
	a.mu.Lock()
	if a.termErr == nil {
		a.termErr = err
	}
	a.mu.Unlock()
	a.Stop()
}

// refresh copies the phone's latest snapshot and log lines into the widgets.
// It runs on tview's goroutine.
func (a *App) refresh() {
	a.view.scr = a.phone.Screen()
	a.mu.Lock()
	a.view.notice = a.notice
	a.mu.Unlock()
	var b strings.Builder
	for _, l := range a.feed.take() {
		// Newlines go before lines, so the pane does not end in a blank row.
		if a.logged {
			b.WriteByte('\n')
		}
		b.WriteString(l.Text)
		a.logged = true
	}
	if b.Len() > 0 {
		fmt.Fprint(a.log, b.String())
	}
}

// onKey handles every key on tview's goroutine. While the help is open only
// the help, close and quit keys work.
func (a *App) onKey(ev *tcell.EventKey) *tcell.EventKey {
	// While the phone asks for text, characters are typed, not keys.
	if a.view.scr.Prompt != "" && !a.showHelp && ev.Key() == tcell.KeyRune && ev.Modifiers()&(tcell.ModAlt|tcell.ModCtrl) == 0 {
		a.send(action{text: string(ev.Rune())})
		return nil
	}
	act, ok := lookup(a.keys, ev)
	if a.showHelp {
		if helpCloser().matches(ev) {
			act, ok = do(cmdHelp), true
		}
		if !ok || (act.cmd != cmdHelp && act.cmd != cmdQuit) {
			return nil
		}
	}
	if !ok {
		return nil
	}
	switch act.cmd {
	case cmdQuit:
		a.Stop()
	case cmdHelp:
		a.toggleHelp()
	case cmdLog:
		a.showLog = !a.showLog
	default:
		a.send(act)
	}
	return nil
}

func (a *App) toggleHelp() {
	a.showHelp = !a.showHelp
	if a.showHelp {
		a.pages.ShowPage("help")
	} else {
		a.pages.HidePage("help")
	}
}

// beforeDraw arranges the phone and the log pane for the screen's size
// before each draw: the pane goes beside the phone when the terminal is wide
// enough, else under it, where it takes the legend's rows. The first draw
// opens the pane when the terminal has room to spare for it.
func (a *App) beforeDraw(s tcell.Screen) bool {
	a.start.Do(func() { close(a.started) })
	w, h := s.Size()
	need := a.view.need(w)
	_, ph, core := a.view.size(w)
	if !a.drawn {
		a.drawn = true
		a.showLog = w-need >= autoLogWidth || h-ph >= autoLogHeight
	}
	a.main.Clear()
	if !a.showLog {
		a.main.AddItem(a.view, 0, 1, false)
		return false
	}
	if w-need >= minLogWidth {
		// The phone grows into what the pane does not want.
		pw, _, _ := a.view.size(max(w-logWidth, need))
		a.main.SetDirection(tview.FlexColumn).
			AddItem(a.view, pw, 0, false).
			AddItem(a.log, 0, 1, false)
		return false
	}
	vh := ph
	if h-vh < logHeight {
		vh = max(core, h-logHeight)
	}
	vh = min(vh, max(h-minLogHeight, 0))
	a.main.SetDirection(tview.FlexRow).
		AddItem(a.view, vh, 0, false).
		AddItem(a.log, 0, 1, false)
	return false
}

// guardedScreen is the screen tview draws on. It keeps tview from stopping
// its event loop by itself on a terminal error (the pump must be the one to
// stop it), and it keeps the error of Init, which tview's SetScreen drops.
type guardedScreen struct {
	tcell.Screen
	ready   bool // initialised by the caller
	initErr error
	fail    func(error)
}

// Init initialises the screen unless the caller did.
func (g *guardedScreen) Init() error {
	if g.ready {
		return nil
	}
	g.initErr = g.Screen.Init()
	return g.initErr
}

// PollEvent passes events on, but turns a terminal error into a stop of
// the UI.
func (g *guardedScreen) PollEvent() tcell.Event {
	for {
		ev := g.Screen.PollEvent()
		e, ok := ev.(*tcell.EventError)
		if !ok {
			return ev
		}
		g.fail(e)
	}
}
