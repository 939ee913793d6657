package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/deskphone/deskphone/fleet/api"
	"github.com/deskphone/deskphone/internal/testwait"
)

// TestFleetShards runs a fleet file as three shard processes against a
// mock cloud in its own process (the last shard finding its index as a
// Kubernetes Indexed Job gives it) and proves that their phones together
// are the whole fleet, each phone once, all registered; SIGTERM then stops
// each shard.
func TestFleetShards(t *testing.T) {
	dir := t.TempDir()
	cloud := startProc(t, "backend", "--state", filepath.Join(dir, "cloud"), "--listen", "tls:127.0.0.1:0",
		"--admin", "", "--load-users", "load{n:05d}:secret:17")
	addr := strings.TrimPrefix(cloud.line("listening tls "), "listening tls ")
	file := filepath.Join(dir, "fleet.yaml")
	src := "server: sips:" + addr + `
ephemeral: yes
groups:
  - name: lobby
    count: 10
    model: t46g
    user: load{n:05d}
    password: secret
  - name: desks
    count: 7
    model: vvx501
    user: load{n:05d}
    password: secret
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	const shards = 3
	var procs []*proc
	var apis []string
	for i := range shards {
		args := []string{"fleet", file, "--api", "127.0.0.1:0", "--progress", "none", "--shard", string(rune('0'+i)) + "/3"}
		if i == shards-1 {
			t.Setenv("JOB_COMPLETION_INDEX", "2")
			args = []string{"fleet", file, "--api", "127.0.0.1:0", "--progress", "none", "--shards", "3"}
		}
		p := startProc(t, args...)
		l := p.line("api http://")
		apis = append(apis, strings.Fields(strings.TrimPrefix(l, "api http://"))[0])
		procs = append(procs, p)
	}
	seen := map[string]int{}
	for i, a := range apis {
		want := 17*(i+1)/shards - 17*i/shards
		base := "http://" + strings.TrimSuffix(a, "/v1/phones,")
		var phones []api.PhoneInfo
		testwait.Poll(30*time.Second, func() bool {
			resp, err := http.Get(base + "/v1/phones?state=registered")
			if err != nil {
				t.Fatal(err)
			}
			phones = nil
			err = json.NewDecoder(resp.Body).Decode(&phones)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			return len(phones) == want
		})
		if len(phones) != want {
			t.Errorf("shard %d at %s: %d registered phones, want %d", i, base, len(phones), want)
		}
		for _, p := range phones {
			seen[p.ID]++
		}
	}
	var ids []string
	for id, n := range seen {
		ids = append(ids, id)
		if n != 1 {
			t.Errorf("phone %s in %d shards", id, n)
		}
	}
	sort.Strings(ids)
	if len(ids) != 17 || ids[0] != "load00001" || ids[16] != "load00017" {
		t.Errorf("the shards ran %v, want load00001..load00017", ids)
	}
	for _, p := range procs {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		p.line("fleet: stopped in ")
	}
}

func TestFleetBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.yaml")
	if err := os.WriteFile(file, []byte("server: sips:127.0.0.1:5061\ngroups:\n  - model: vvx501\n    usr: u{n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"fleet", file}, `fleet.yaml:4:5: unknown key "usr" (did you mean "user"?)`},
		{[]string{"fleet", "--phones", "3", "--server", "sips:127.0.0.1:1", "--user", "u{n}", "--shard", "3/3"}, "bad shard"},
		{[]string{"fleet", "--phones", "3", "--server", "sips:127.0.0.1:1", "--user", "u{n}", "--model", "vvx50"}, "vvx50"},
		{[]string{"fleet", "--phones", "3", "--server", "sips:127.0.0.1:1", "--user", "u{n}", "--connecting", "-1"}, "--connecting -1: want at least 1"},
		{[]string{"fleet", "--phones", "3", "--server", "sips:127.0.0.1:1", "--user", "u{n}", "--api", "0.0.0.0:0", "--api-token", ""}, "bearer token"},
		{[]string{"fleet", "--phones", "2000000", "--server", "sips:127.0.0.1:1", "--user", "u{n}"}, "--phones: 2000000 is more than 1000000"},
		{[]string{"fleet", "--phones", "3", "--user", "u{n}", "--provisioning", "http://127.0.0.1:1/firmware"}, "--phones needs --server (or a gateway's --provisioning)"},
		{[]string{"fleet", "--phones", "3", "--user", "u{n}", "--provisioning", "ftp://127.0.0.1/emea"}, `--provisioning "ftp://127.0.0.1/emea": want a URL`},
	}
	for _, tt := range tests {
		_, stderr, code := deskphone(t, "", tt.args...)
		if code == 0 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tt.args, code, stderr, tt.want)
		}
	}
}

// deskphone run --api serves its one phone, under its user name, beside
// the headless protocol.
func TestRunAPI(t *testing.T) {
	cmd := exec.Command(binary, "run", "--headless", "--api", "127.0.0.1:0")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { in.Close(); cmd.Process.Kill(); cmd.Wait() }()
	sc := bufio.NewScanner(errOut)
	url := ""
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "api "); ok {
			url = u
			break
		}
	}
	if !strings.HasSuffix(url, "/v1/phones/alice") {
		t.Fatalf("api line %q", url)
	}
	c := &api.Client{Base: strings.TrimSuffix(url, "/v1/phones/alice")}
	rep, err := c.Command(context.Background(), "alice", "wait registered=yes 10s")
	if err != nil || !rep.OK {
		t.Fatalf("wait: %+v %v", rep, err)
	}
	rep, err = c.Command(context.Background(), "alice", "status")
	if err != nil || rep.Status["user"] != "alice" || !strings.Contains(rep.Reply, "registered=yes\n") {
		t.Fatalf("status: %+v %v", rep, err)
	}
}
