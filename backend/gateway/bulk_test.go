package gateway

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fleet onboards n devices tagged for bulk sign-in in emea, MACs
// 00:90:8f:00:XX:YY from 1, and returns their keys by MAC.
func (f *fixture) fleet(n int) map[string]string {
	keys := map[string]string{}
	for i := 1; i <= n; i++ {
		mac := fmt.Sprintf("00:90:8f:00:%02x:%02x", i/256, i%256)
		keys[mac] = f.onboard(tenant, mac)
	}
	return keys
}

func csvOf(rows ...string) []byte {
	return []byte("Username,HardwareId\n" + strings.Join(rows, "\n") + "\n")
}

func hw(i int) string { return fmt.Sprintf("00-90-8f-00-%02x-%02x", i/256, i%256) }

func TestBulkRows(t *testing.T) {
	f := newFixture(t)
	keys := f.fleet(8)
	f.onboard("/emea", "00:90:8f:00:00:63") // untagged
	f.onboard("/noam/tenantid/0b5c1e9a-2f3d-4c5e-8a9b-0123456789ab", "00:90:8f:00:00:64")
	f.offline["dev-00908f000005"] = true
	b, err := f.s.BulkSignIn(csvOf(
		"alice,"+hw(1),
		"mallory,"+hw(2),
		"nonum,"+hw(3),
		"bob,00-90-8f-00-00-99",
		"bob,00-90-8f-00-00-63",
		"bob,"+hw(5),
		"bob,"+hw(6), "carol,"+hw(6),
		"bob,00:90:8f:00:00:07",
		"bob,00-90-8f-00-00-64",
		"alice",
	), "emea")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", RowUserNotFound, RowNoNumber, RowNoDevice, RowNoTag, RowOffline, RowDuplicate, RowDuplicate, RowBadHardware, RowNoDevice, RowBadHardware}
	for i, r := range b.Rows {
		if r.Error != want[i] {
			t.Errorf("row %d %+v: want %q", i, r, want[i])
		}
	}
	if b.ID != "b1" || b.State != BatchRunning || b.Rows[0].Status != RowPending {
		t.Fatalf("batch %+v", b)
	}
	if len(f.synced) != 1 || f.synced[0] != "dev-00908f000001" {
		t.Errorf("check-sync %v", f.synced)
	}
	// The device fetches its provisioning: the batch completes.
	var r DeviceReply
	f.post(tenant+"/device", dev("00:90:8f:00:00:01", keys["00:90:8f:00:00:01"]), &r)
	if r.State != StateSignedIn || r.Account.User != "alice" {
		t.Fatalf("device %+v", r)
	}
	if b, _ = f.s.Batch("b1"); b.State != BatchDone || b.Rows[0].Status != RowSignedIn {
		t.Fatalf("after the fetch %+v", b)
	}
	if _, err := f.s.Batch("b9"); !errors.Is(err, ErrNoBatch) {
		t.Errorf("unknown batch: %v", err)
	}
}

func TestBulkWholeBatch(t *testing.T) {
	f := newFixture(t)
	f.fleet(104)
	var rows []string
	for i := 1; i <= 101; i++ {
		rows = append(rows, "alice,"+hw(i))
	}
	if _, err := f.s.BulkSignIn(csvOf(rows...), "emea"); !errors.Is(err, ErrBatchTooLarge) {
		t.Errorf("101 rows: %v", err)
	}
	for _, bad := range []string{"User,Mac\nalice,00-90-8f-00-00-01\n", "", "Username,HardwareId\n", "Username,HardwareId\n\"alice,00\n"} {
		if _, err := f.s.BulkSignIn([]byte(bad), "emea"); !errors.Is(err, ErrBadCSV) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := f.s.BulkSignIn(csvOf("alice,"+hw(1)), "mars"); !errors.Is(err, ErrBadRegion) {
		t.Errorf("region: %v", err)
	}
	// Three running batches; the fourth is refused until one completes.
	for i := 1; i <= 3; i++ {
		if b, err := f.s.BulkSignIn(csvOf("alice,"+hw(i)), "emea"); err != nil || b.State != BatchRunning {
			t.Fatalf("batch %d: %+v %v", i, b, err)
		}
	}
	if _, err := f.s.BulkSignIn(csvOf("alice,"+hw(4)), "emea"); !errors.Is(err, ErrTooManyBatches) {
		t.Fatalf("fourth: %v", err)
	}
	if _, err := f.s.BulkSignIn(csvOf("alice,"+hw(4)), "apac"); err != nil {
		t.Errorf("another region: %v", err)
	}
	// Nobody fetches: 10 minutes later they are offline, and room is made.
	f.advance(BatchTimeout)
	b, _ := f.s.Batch("b1")
	if b.State != BatchDone || b.Rows[0].Error != RowOffline {
		t.Errorf("timed out %+v", b)
	}
	if _, err := f.s.BulkSignIn(csvOf("alice,"+hw(4)), "emea"); err != nil {
		t.Errorf("after the timeout: %v", err)
	}
}

func TestBulkDeadline(t *testing.T) {
	f := newFixture(t)
	keys := f.fleet(2)
	f.advance(BulkDeadline - time.Second)
	if b, _ := f.s.BulkSignIn(csvOf("alice,"+hw(1)), "emea"); b.Rows[0].Error != "" {
		t.Fatalf("within 72 h: %+v", b)
	}
	f.advance(time.Second)
	if b, _ := f.s.BulkSignIn(csvOf("bob,"+hw(2)), "emea"); b.Rows[0].Error != RowDeadline {
		t.Fatalf("72 h: %+v", b)
	}
	// A sign-out opens 168 h more.
	mac := "00:90:8f:00:00:01"
	var r DeviceReply
	f.post(tenant+"/signout", map[string]string{"mac": mac, "device_key": keys[mac]}, &r)
	f.advance(BulkDeadlineAfterSignOut - time.Second)
	f.s.Seen("dev-00908f000001")
	if b, _ := f.s.BulkSignIn(csvOf("bob,"+hw(1)), "emea"); b.Rows[0].Error != "" {
		t.Fatalf("within 168 h of the sign-out: %+v", b)
	}
	f.s.SignOut(mac)
	f.advance(BulkDeadlineAfterSignOut)
	f.s.Seen("dev-00908f000001")
	if b, _ := f.s.BulkSignIn(csvOf("bob,"+hw(1)), "emea"); b.Rows[0].Error != RowDeadline {
		t.Fatalf("168 h after the sign-out: %+v", b)
	}
}

// With a clock to wait on, a batch is processed BatchProcessing after it
// came: until then its rows are pending and it runs, so three batches
// run side by side and a fourth is refused; then each row is signed in
// and its phone told; Close stops a batch not yet processed.
func TestBulkProcessedLater(t *testing.T) {
	f := newFixture(t)
	type timer struct {
		at      time.Time
		f       func()
		stopped bool
	}
	var timers []*timer
	f.s.cfg.After = func(d time.Duration, fn func()) func() bool {
		tm := &timer{at: f.s.cfg.Now().Add(d), f: fn}
		timers = append(timers, tm)
		return func() bool { tm.stopped = true; return true }
	}
	f.fleet(4)
	for i := 1; i <= 3; i++ {
		b, err := f.s.BulkSignIn(csvOf(fmt.Sprintf("alice,%s", hw(i))), "emea")
		if err != nil || b.State != BatchRunning || b.Rows[0].Status != RowPending {
			t.Fatalf("batch %d: %+v %v", i, b, err)
		}
	}
	if len(f.synced) != 0 {
		t.Fatalf("told before the batches were processed: %v", f.synced)
	}
	if _, err := f.s.BulkSignIn(csvOf("bob,"+hw(4)), "emea"); !errors.Is(err, ErrTooManyBatches) {
		t.Fatalf("a fourth running batch: %v", err)
	}
	if len(timers) != 3 || !timers[0].at.Equal(f.s.cfg.Now().Add(BatchProcessing)) {
		t.Fatalf("timers %d", len(timers))
	}
	f.advance(BatchProcessing)
	timers[0].f()
	timers[1].f()
	if len(f.synced) != 2 {
		t.Fatalf("told %v", f.synced)
	}
	if d, _ := f.s.Device("00:90:8f:00:00:01"); d.State != StateSignedIn || d.User != "alice" {
		t.Fatalf("device 1 after processing: %+v", d)
	}
	f.s.Close()
	if !timers[2].stopped {
		t.Error("Close left a batch's timer running")
	}
	timers[2].f() // a firing that lost the race with Close
	if len(f.synced) != 2 {
		t.Errorf("a batch processed after Close: %v", f.synced)
	}
}
