package gateway

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/deskphone/deskphone/internal/gwurl"
)

// Bulk sign-in limits, on the cloud's clock.
const (
	MaxBatchRows      = 100
	MaxRunningBatches = 3
	// BulkDeadline is how long after onboarding a device may be signed
	// in in bulk; BulkDeadlineAfterSignOut after its last sign-out.
	BulkDeadline             = 72 * time.Hour
	BulkDeadlineAfterSignOut = 168 * time.Hour
	// BatchProcessing is how long after its submission the gateway
	// processes a batch: its accepted rows are signed in then (the real
	// service takes minutes), so batches run side by side.
	BatchProcessing = 2 * time.Minute
	// BatchTimeout ends a batch: a device that has not fetched its
	// provisioning since its sign-in is then "Device is offline.".
	BatchTimeout = 10 * time.Minute
)

// A row's result: the documented error texts.
const (
	RowUserNotFound = "User not found in tenant."
	RowNoNumber     = "User missing phone number assignment."
	RowNoDevice     = "Device not found in records."
	RowNoTag        = "BulkSignIn Tag missing for the device"
	RowOffline      = "Device is offline."
	RowDeadline     = "Bulk Sign-in deadline expired."
	RowDuplicate    = "Duplicate devices found for bulk sign-in."
	RowBadHardware  = "Input hardware-ID is of wrong format"
)

// Row and batch states.
const (
	RowPending   = "pending"
	RowSignedIn  = StateSignedIn
	RowFailed    = "failed"
	BatchRunning = "running"
	BatchDone    = "completed"
)

// BatchRow is one row of a batch and how it ended.
type BatchRow struct {
	Username   string `json:"username"`
	HardwareID string `json:"hardware_id"`
	Status     string `json:"status"`          // pending, signed-in or failed
	Error      string `json:"error,omitempty"` // failed: one of the documented texts
}

// BatchInfo is a batch as the admin sees it.
type BatchInfo struct {
	ID        string     `json:"batch"`
	Region    string     `json:"region"`
	State     string     `json:"state"` // running or completed
	Submitted string     `json:"submitted"`
	Rows      []BatchRow `json:"rows"`
}

type batch struct {
	id, region string
	submitted  time.Time
	rows       []BatchRow
	waits      []wait // the accepted rows still pending
	// queued are the accepted rows until the batch is processed (their
	// users), stop its timer.
	queued map[int]string
	stop   func() bool
}

// wait is an accepted row: done once its device fetched /device since.
type wait struct {
	row     int
	d       *device
	fetches int
}

var hardwareRE = regexp.MustCompile(`^[0-9A-Fa-f]{2}(?:-[0-9A-Fa-f]{2}){5}$`)

// BulkSignIn signs in the devices of a CSV (header Username,HardwareId,
// the MAC as xx-xx-xx-xx-xx-xx) of region. A batch of more than
// MaxBatchRows rows, a fourth running batch in the region or a bad CSV
// is refused whole; otherwise each row is signed in at once (check-sync
// sent) or fails with one of the documented texts. The batch runs until
// each signed-in device fetched its provisioning, or BatchTimeout.
func (s *Service) BulkSignIn(data []byte, region string) (BatchInfo, error) {
	if !slices.Contains(gwurl.Regions, region) {
		return BatchInfo{}, fmt.Errorf("%w, not %q", ErrBadRegion, region)
	}
	rows, err := parseBatch(data)
	if err != nil {
		return BatchInfo{}, err
	}
	// What the rows need of the directory and the location service,
	// asked outside the lock.
	type found struct {
		user User
		ok   bool
	}
	users := map[string]found{}
	for _, r := range rows {
		if _, done := users[r.Username]; !done && r.Status == "" {
			u, ok := s.cfg.Lookup(r.Username)
			users[r.Username] = found{u, ok}
		}
	}
	now := s.cfg.Now()
	s.mu.Lock()
	accounts := map[string]string{}
	for _, r := range rows {
		if mac, ok := ParseMAC(r.HardwareID); ok && r.Status == "" {
			if d := s.devices[mac]; d != nil && s.live(d, now) {
				accounts[mac] = d.account()
			}
		}
	}
	s.mu.Unlock()
	online := map[string]bool{}
	for mac, acct := range accounts {
		online[mac] = s.cfg.Registered(acct)
	}

	s.mu.Lock()
	if n := s.runningLocked(region, now); n >= MaxRunningBatches {
		s.mu.Unlock()
		return BatchInfo{}, fmt.Errorf("%w: %d batches of %s are running; wait for one to complete", ErrTooManyBatches, n, region)
	}
	s.nextBatch++
	b := &batch{id: fmt.Sprintf("b%d", s.nextBatch), region: region, submitted: now, rows: rows}
	var syncs []string
	for i := range b.rows {
		r := &b.rows[i]
		if r.Status != "" {
			continue
		}
		mac, _ := ParseMAC(r.HardwareID)
		d := s.devices[mac]
		u := users[r.Username]
		why := ""
		switch {
		case d == nil || !s.live(d, now) || d.region != region:
			why = RowNoDevice
		case d.tenant == "":
			why = RowNoTag
		case !u.ok:
			why = RowUserNotFound
		case u.user.Number == "":
			why = RowNoNumber
		case !now.Before(deadline(d)):
			why = RowDeadline
		case !online[mac]:
			why = RowOffline
		}
		if why != "" {
			r.Status, r.Error = RowFailed, why
			continue
		}
		r.Status = RowPending
		if b.queued == nil {
			b.queued = map[int]string{}
		}
		b.queued[i] = u.user.Name
	}
	s.batches[b.id] = b
	s.order = append(s.order, b.id)
	if s.cfg.After != nil && len(b.queued) > 0 {
		delay := s.cfg.BatchDelay
		if delay <= 0 {
			delay = BatchProcessing
		}
		b.stop = s.cfg.After(delay, func() { s.process(b) })
	} else {
		syncs = s.processLocked(b, now)
	}
	s.evaluate(b, now)
	info := b.info()
	s.mu.Unlock()
	for _, acct := range syncs {
		s.cfg.CheckSync(acct)
	}
	return info, nil
}

// process signs in the batch's accepted rows, BatchProcessing after it
// came.
func (s *Service) process(b *batch) {
	now := s.cfg.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	syncs := s.processLocked(b, now)
	s.mu.Unlock()
	for _, acct := range syncs {
		s.cfg.CheckSync(acct)
	}
}

// processLocked signs in each queued row whose device is still there and
// signed out (a device signed in or gone meanwhile fails its row), and
// returns the accounts to tell. Called with s.mu held.
func (s *Service) processLocked(b *batch, now time.Time) []string {
	var syncs []string
	for _, i := range slices.Sorted(maps.Keys(b.queued)) {
		r := &b.rows[i]
		mac, _ := ParseMAC(r.HardwareID)
		d := s.devices[mac]
		if d == nil || !s.live(d, now) || d.region != b.region {
			r.Status, r.Error = RowFailed, RowNoDevice
			continue
		}
		syncs = append(syncs, s.signIn(d, b.queued[i]))
		b.waits = append(b.waits, wait{row: i, d: d, fetches: d.fetches})
	}
	b.queued, b.stop = nil, nil
	return syncs
}

// Close stops the batches' timers; a batch not yet processed stays so.
func (s *Service) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, b := range s.batches {
		if b.stop != nil {
			b.stop()
		}
	}
}

// Batch is the batch id as it stands now.
func (s *Service) Batch(id string) (BatchInfo, error) {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.batches[id]
	if b == nil {
		return BatchInfo{}, fmt.Errorf("%w: %q", ErrNoBatch, id)
	}
	s.evaluate(b, now)
	return b.info(), nil
}

// Batches lists every batch, oldest first.
func (s *Service) Batches() []BatchInfo {
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []BatchInfo{}
	for _, id := range s.order {
		b := s.batches[id]
		s.evaluate(b, now)
		out = append(out, b.info())
	}
	return out
}

// deadline is when d may no longer be signed in in bulk.
func deadline(d *device) time.Time {
	if !d.signedOut.IsZero() {
		return d.signedOut.Add(BulkDeadlineAfterSignOut)
	}
	return d.onboarded.Add(BulkDeadline)
}

// runningLocked counts the running batches of region. Called with s.mu
// held.
func (s *Service) runningLocked(region string, now time.Time) int {
	n := 0
	for _, b := range s.batches {
		if b.region == region {
			s.evaluate(b, now)
			if len(b.waits) > 0 || len(b.queued) > 0 {
				n++
			}
		}
	}
	return n
}

// evaluate settles the pending rows of b: signed in once the device
// fetched its provisioning since, offline once BatchTimeout passed.
// Called with s.mu held.
func (s *Service) evaluate(b *batch, now time.Time) {
	left := b.waits[:0]
	for _, w := range b.waits {
		r := &b.rows[w.row]
		switch {
		case w.d.fetches > w.fetches:
			r.Status = RowSignedIn
		case now.Sub(b.submitted) >= BatchTimeout:
			r.Status, r.Error = RowFailed, RowOffline
		default:
			left = append(left, w)
		}
	}
	clear(b.waits[len(left):])
	b.waits = left
}

func (b *batch) info() BatchInfo {
	state := BatchDone
	if len(b.waits) > 0 || len(b.queued) > 0 {
		state = BatchRunning
	}
	return BatchInfo{ID: b.id, Region: b.region, State: state, Submitted: stamp(b.submitted), Rows: slices.Clone(b.rows)}
}

// parseBatch reads the CSV: its header, at most MaxBatchRows rows, each
// row's hardware ID checked and duplicates marked (their Status set).
func parseBatch(data []byte) ([]BatchRow, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	rd := csv.NewReader(bytes.NewReader(data))
	rd.FieldsPerRecord = -1
	rd.TrimLeadingSpace = true
	head, err := rd.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCSV, csvErr(err))
	}
	if len(head) != 2 || !strings.EqualFold(strings.TrimSpace(head[0]), "Username") || !strings.EqualFold(strings.TrimSpace(head[1]), "HardwareId") {
		return nil, fmt.Errorf("%w: the first line must be the header Username,HardwareId, not %q", ErrBadCSV, limit(strings.Join(head, ","), 60))
	}
	var rows []BatchRow
	for {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadCSV, csvErr(err))
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if len(rows) == MaxBatchRows {
			n := len(rows) + 1
			for {
				if _, err := rd.Read(); err != nil {
					break
				}
				n++
			}
			return nil, fmt.Errorf("%w; this one has %d", ErrBatchTooLarge, n)
		}
		r := BatchRow{Username: limit(strings.TrimSpace(rec[0]), 128)}
		if len(rec) > 1 {
			r.HardwareID = limit(strings.TrimSpace(rec[1]), 64)
		}
		if len(rec) != 2 || !hardwareRE.MatchString(r.HardwareID) {
			r.Status, r.Error = RowFailed, RowBadHardware
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%w: no rows after the header", ErrBadCSV)
	}
	count := map[string]int{}
	for _, r := range rows {
		if mac, ok := ParseMAC(r.HardwareID); ok && r.Status == "" {
			count[mac]++
		}
	}
	for i := range rows {
		if mac, ok := ParseMAC(rows[i].HardwareID); ok && rows[i].Status == "" && count[mac] > 1 {
			rows[i].Status, rows[i].Error = RowFailed, RowDuplicate
		}
	}
	return rows, nil
}

func csvErr(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("the CSV is empty")
	}
	return err
}
