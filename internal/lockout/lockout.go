// Package lockout counts failed sign-ins the way identity providers'
// smart lockout does (Microsoft Entra, Okta): a budget of failures per
// source, per account and in all, each over a sliding window on the
// caller's clock, and the sources an account has signed in from (familiar
// ones), which an account's exhausted budget does not turn away. A
// stranger guessing a password then locks out only their own address,
// and the account's owner keeps signing in from where they always do.
//
// The types are not safe for concurrent use: their owner holds its lock.
package lockout

import (
	"time"
)

// Window is a budget of Max events per sliding Per, by key.
type Window struct {
	Max int
	Per time.Duration

	hits  map[string][]time.Time
	swept time.Time
}

// Wait returns how long key must wait before its budget has room again;
// 0 when it has room now.
func (w *Window) Wait(key string, now time.Time) time.Duration {
	recent := w.recent(key, now)
	if w.Max <= 0 || len(recent) < w.Max {
		return 0
	}
	return recent[len(recent)-w.Max].Add(w.Per).Sub(now)
}

// Add counts an event of key at now.
func (w *Window) Add(key string, now time.Time) {
	if w.hits == nil {
		w.hits = map[string][]time.Time{}
	}
	w.sweep(now)
	list := append(w.recent(key, now), now)
	if w.Max > 0 && len(list) > w.Max {
		// Only the newest Max matter to Wait.
		list = append(list[:0], list[len(list)-w.Max:]...)
	}
	w.hits[key] = list
}

// Count is how many events key had in the window up to now.
func (w *Window) Count(key string, now time.Time) int { return len(w.recent(key, now)) }

// Reset forgets key's events.
func (w *Window) Reset(key string) { delete(w.hits, key) }

// Len is how many keys are held, for tests of its bounds.
func (w *Window) Len() int { return len(w.hits) }

func (w *Window) recent(key string, now time.Time) []time.Time {
	list := w.hits[key]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= w.Per {
		i++
	}
	if i == len(list) {
		delete(w.hits, key)
		return nil
	}
	list = list[i:]
	w.hits[key] = list
	return list
}

// sweep drops every key whose events have all left the window, at most
// once per window, so keys from many sources do not pile up.
func (w *Window) sweep(now time.Time) {
	if now.Sub(w.swept) < w.Per {
		return
	}
	w.swept = now
	for k, list := range w.hits {
		if len(list) == 0 || now.Sub(list[len(list)-1]) >= w.Per {
			delete(w.hits, k)
		}
	}
}

// Familiar remembers, per account, the sources it signed in from within
// Per, at most Max per account (the oldest forgotten first).
type Familiar struct {
	Max int
	Per time.Duration

	seen map[string]map[string]time.Time
}

// Add records a successful sign-in of account from source.
func (f *Familiar) Add(account, source string, now time.Time) {
	if f.seen == nil {
		f.seen = map[string]map[string]time.Time{}
	}
	m := f.seen[account]
	if m == nil {
		m = map[string]time.Time{}
		f.seen[account] = m
	}
	m[source] = now
	for len(m) > max(f.Max, 1) {
		oldest := ""
		for s, t := range m {
			if oldest == "" || t.Before(m[oldest]) {
				oldest = s
			}
		}
		delete(m, oldest)
	}
}

// Known reports whether account signed in from source within Per.
func (f *Familiar) Known(account, source string, now time.Time) bool {
	t, ok := f.seen[account][source]
	return ok && now.Sub(t) < f.Per
}
