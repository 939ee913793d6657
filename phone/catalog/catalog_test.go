package catalog_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/deskphone/deskphone/phone/catalog"
)

func TestBuiltinValidates(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c450hd", "430hd", "vvx501", "vvx601", "t46g", "t48g", "cx600"}
	for _, id := range want {
		m, err := c.Model(id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.FirmwareVersion(""); err != nil {
			t.Errorf("%s: default firmware: %v", id, err)
		}
	}
	if len(c.Models) != len(want) {
		t.Errorf("catalog has %d models, the test knows %d: add the new one here", len(c.Models), len(want))
	}
}

// The traits the seed stories depend on.
func TestSeedTraits(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	trait := func(model, version string) *catalog.Firmware {
		t.Helper()
		m, err := c.Model(model)
		if err != nil {
			t.Fatal(err)
		}
		f, err := m.FirmwareVersion(version)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if f := trait("430hd", "3.2.1.580"); strings.Join(f.FactoryRoots, ",") != "lab-2019" {
		t.Errorf("430HD 3.2.1.580 must lack the new root (seed 002): %v", f.FactoryRoots)
	}
	if f := trait("430hd", "3.4.6.537"); !strings.Contains(strings.Join(f.FactoryRoots, ","), "lab-2022") {
		t.Errorf("430HD 3.4.6.537 ships the new root (seed 002): %v", f.FactoryRoots)
	}
	if f := trait("cx600", ""); f.TLSMax != "1.0" {
		t.Errorf("LPE speaks TLS up to 1.0, catalog says %s", f.TLSMax)
	}
	if f := trait("vvx501", "5.4.0A"); f.Lock != "device-lock" {
		t.Errorf("Poly 5.4.0A has Device-Lock, catalog says %s", f.Lock)
	}
	if f := trait("vvx501", "5.5.1.11526"); f.Lock != "phone-lock" {
		t.Errorf("Poly 5.5.1 has Phone-Lock, catalog says %s", f.Lock)
	}
	if f := trait("vvx601", "5.9.0.9373"); f.ClientID != "vendor" || !f.HasSignIn("web") {
		t.Errorf("Poly 5.9: client ID %s, web sign-in %v", f.ClientID, f.HasSignIn("web"))
	}
}

// A minimal valid catalog; each bad case edits one thing.
const good = `
vendors:
  acme:
    name: Acme
    version_format: "<major>.<minor>.<patch>"
    version_pattern: '^\d+\.\d+\.\d+$'
    time_format: 24
    date_format: "Mon 02 Jan"
    firmware_path: [Menu, Info]
    syslog: {format: "{time} {msg}", time_layout: "15:04:05"}
    softkeys:
      idle: [{label: Menu, action: menu}]
      dialing: [{label: Dial, action: dial}]
      calling: [{label: End, action: hangup}]
      ringing: [{label: Answer, action: answer}]
      connected: [{label: End, action: hangup}]
      held: [{label: Resume, action: resume}]
      menu: [{label: OK, action: ok}]
    menu:
      - label: Info
        show: ["Version {firmware}"]
      - label: Restart
        action: reboot
models:
  a1:
    vendor: acme
    name: A1
    display: {columns: 30, rows: 6, softkeys: 4}
    firmware:
      - {version: 1.2.3, tls_min: "1.2", tls_max: "1.2", factory_roots: [lab-2019], sign_in: [user], lock: none, client_id: shared}
`

func TestParseGood(t *testing.T) {
	c, err := catalog.Parse("good.yaml", []byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Model("A1")
	if err != nil {
		t.Fatal(err)
	}
	if m.DefaultFirmware != "1.2.3" || m.Hostname != "A1" {
		t.Fatalf("defaults not filled: %+v", m)
	}
	// Action names are parsed when the catalog loads.
	if a := m.Vendor.Softkeys["ringing"][0].Action; a != catalog.ActionAnswer {
		t.Errorf("ringing softkey action = %v, want answer", a)
	}
	if a := m.Vendor.Menu[1].Action; a != catalog.ActionReboot {
		t.Errorf("menu action = %v, want reboot", a)
	}
	if a := m.Vendor.Menu[0].Action; a != catalog.ActionNone {
		t.Errorf("information screen has action %v", a)
	}
}

// Every action name parses back to its action, and String never panics.
func TestActionNames(t *testing.T) {
	for _, name := range catalog.Actions {
		a, err := catalog.ParseAction(name)
		if err != nil {
			t.Fatal(err)
		}
		if a.String() != name {
			t.Errorf("ParseAction(%q).String() = %q", name, a)
		}
	}
	if len(catalog.Actions) != int(catalog.ActionCount)-1 {
		t.Errorf("%d action names for %d actions", len(catalog.Actions), catalog.ActionCount-1)
	}
	for _, tt := range []struct {
		a    catalog.Action
		want string
	}{
		{catalog.ActionNone, "none"},
		{catalog.ActionCount, fmt.Sprintf("unknown(%d)", int(catalog.ActionCount))},
		{-3, "unknown(-3)"},
	} {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("Action(%d).String() = %q, want %q", int(tt.a), got, tt.want)
		}
	}
	if _, err := catalog.ParseAction("pickup"); err == nil || !strings.Contains(err.Error(), "answer") {
		t.Errorf("ParseAction(pickup) = %v, want an error listing the actions", err)
	}
	if _, err := catalog.ParseAction(""); err == nil {
		t.Error("ParseAction of an empty name: no error")
	}
}

func TestBadCatalogs(t *testing.T) {
	tests := []struct {
		name, old, new, want string
	}{
		{"missing vendor name", "name: Acme", "", `bad.yaml: vendor "acme": name: missing`},
		{"missing model field", "    name: A1\n", "", `bad.yaml: model "a1": name: missing`},
		{"missing softkey screen", "      held: [{label: Resume, action: resume}]\n", "", `vendor "acme": softkeys.held: missing`},
		{"unknown softkey screen", "      menu: [{label: OK, action: ok}]", "      menu: [{label: OK, action: ok}]\n      lobby: [{label: X, action: ok}]", `softkeys.lobby: unknown screen`},
		{"unknown action", "action: answer", "action: pickup", `softkeys.ringing[0].action: unknown action "pickup"`},
		{"bad version string", "version: 1.2.3", "version: 1.2.x", `model "a1": firmware[0].version: bad version string "1.2.x"`},
		{"unknown model vendor", "vendor: acme", "vendor: zeta", `model "a1": vendor: unknown vendor "zeta"`},
		{"bad tls", `tls_max: "1.2"`, `tls_max: "2.0"`, `firmware[0].tls_max: "2.0"`},
		{"tls inverted", `tls_min: "1.2"`, `tls_min: "1.3"`, `firmware[0].tls_min: 1.3 is above tls_max 1.2`},
		{"bad lock", "lock: none", "lock: padlock", `firmware[0].lock: "padlock"`},
		{"bad sign-in", "sign_in: [user]", "sign_in: [user, smoke]", `firmware[0].sign_in[1]: unknown method "smoke"`},
		{"bad client id", "client_id: shared", "client_id: mine", `firmware[0].client_id`},
		{"unknown placeholder", "Version {firmware}", "Version {colour}", `menu[0].show[0]: unknown placeholder {colour}`},
		{"firmware path off the menu", "firmware_path: [Menu, Info]", "firmware_path: [Menu, About]", `firmware_path: no menu entry "About"`},
		{"display too narrow", "columns: 30", "columns: 5", `display.columns: 5: must be 20..80`},
		{"default firmware unknown", "    firmware:\n", "    default_firmware: 9.9.9\n    firmware:\n", `default_firmware: "9.9.9" is not in the firmware list`},
		{"unknown key", "time_format: 24", "time_format: 24\n    colour: red", `field colour not found`},
		{"menu item without kind", `show: ["Version {firmware}"]`, "", `needs exactly one of items, show or action`},
		{"unknown menu action", "action: reboot", "action: explode", `bad.yaml: vendor "acme": menu[1].action: unknown action "explode"`},
		{"unknown sign-in reason", "time_format: 24", "time_format: 24\n    sign_in: {reasons: {legacy: Use the web}}", `sign_in.reasons.legacy: unknown reason`},
		{"unknown update reason", "time_format: 24", "time_format: 24\n    update: {reasons: {x509: Bad certificate}}", `update.reasons.x509: unknown reason`},
		{"short label not shorter", "{label: Answer, action: answer}", "{label: Answer, short: Answers, action: answer}", `softkeys.ringing[0].short: "Answers" must be shorter than the label "Answer"`},
		{"waiting tone out of range", "time_format: 24", "time_format: 24\n    calls: {waiting_tone: {hz: 20000, on_ms: 300}}", `calls.waiting_tone.hz: 20000: must be 100..4000`},
		{"waiting tone too short", "time_format: 24", "time_format: 24\n    calls: {waiting_tone: {hz: 440, on_ms: 5}}", `calls.waiting_tone: on 5 ms`},
		{"reject code", "time_format: 24", "time_format: 24\n    calls: {reject_code: 404}", `calls.reject_code: 404`},
		{"bad firmware mode", "version: 1.2.3,", "version: 1.2.3, mode: teams,", `firmware[0].mode: "teams": must be one of 3pip, sip, lpe`},
		{"bad vendor firmware mode", "time_format: 24", "time_format: 24\n    firmware_mode: h323", `firmware_mode: "h323"`},
		{"sip firmware with sfb sign-in", "version: 1.2.3,", "version: 1.2.3, mode: sip,", `firmware[0].sign_in: user: SIP firmware offers no Skype for Business sign-in`},
		{"sign-in left out", "sign_in: [user], ", "", `firmware[0].sign_in: missing (write [] for none)`},
		{"blank short label", "{label: Answer, action: answer}", `{label: Answer, short: " ", action: answer}`, `softkeys.ringing[0].short: blank`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("test case edits %q, which is not in the good catalog", tt.old)
			}
			bad := strings.Replace(good, tt.old, tt.new, 1)
			_, err := catalog.Parse("bad.yaml", []byte(bad), nil)
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadExtends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "extra.yaml")
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Model("a1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Model("c450hd"); err != nil {
		t.Fatalf("built-in models lost: %v", err)
	}
	if _, err := catalog.Load(filepath.Join(t.TempDir(), "none.yaml")); err == nil {
		t.Fatal("missing file: no error")
	}
}

// Each model but the Lync Phone Edition has its plain SIP firmware beside
// its Skype for Business firmware; the defaults stay the SfB ones.
func TestFirmwareStreams(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	sip := map[string]string{
		"430hd": "430HD_3.4.6.537", "c450hd": "C450HD_3.4.6.537",
		"vvx501": "6.4.3.5814", "vvx601": "6.4.3.5814",
		"t46g": "28.83.0.130", "t48g": "35.83.0.130",
	}
	for _, id := range c.ModelIDs() {
		m, _ := c.Model(id)
		def, _ := m.FirmwareVersion("")
		wantDef := catalog.Mode3PIP
		if id == "cx600" {
			wantDef = catalog.ModeLPE
		}
		if def.Mode != wantDef {
			t.Errorf("%s: default firmware %s is %s, want %s", id, def.Version, def.Mode, wantDef)
		}
		var sips []string
		for _, f := range m.Firmware {
			if f.Mode == catalog.ModeSIP {
				sips = append(sips, f.Version)
				if len(f.SignIn) != 0 || f.TLSMax != "1.3" || !slices.Contains(f.FactoryRoots, "lab-2022") {
					t.Errorf("%s %s: sign_in %v, TLS up to %s, roots %v: want none, 1.3, with lab-2022", id, f.Version, f.SignIn, f.TLSMax, f.FactoryRoots)
				}
			}
		}
		if want := sip[id]; strings.Join(sips, ",") != want {
			t.Errorf("%s: SIP firmware %v, want %q", id, sips, want)
		}
	}
	// The numeric part alone still finds the SfB firmware listed first.
	m, _ := c.Model("430hd")
	if f, _ := m.FirmwareVersion("3.4.6.537"); f.Version != "UC430HD_3.4.6.537" {
		t.Errorf("3.4.6.537 finds %s", f.Version)
	}
	if f, _ := m.FirmwareVersion("430hd_3.4.6.537"); f == nil || f.Mode != catalog.ModeSIP {
		t.Errorf("430HD_3.4.6.537 finds %v", f)
	}
}

func TestFirmwareVersionLookup(t *testing.T) {
	c, _ := catalog.Builtin()
	m, _ := c.Model("c450hd")
	for in, want := range map[string]string{
		"":                     "UCC450HD_3.4.6.537",
		"3.2.0.1003.61":        "UCC450HD_3.2.0.1003.61",
		"ucc450hd_3.0.0.459.1": "UCC450HD_3.0.0.459.1",
		"UCC450HD_3.4.6.537":   "UCC450HD_3.4.6.537",
	} {
		f, err := m.FirmwareVersion(in)
		if err != nil || f.Version != want {
			t.Errorf("FirmwareVersion(%q) = %v, %v; want %s", in, f, err, want)
		}
	}
	if _, err := m.FirmwareVersion("3.4"); !errors.Is(err, catalog.ErrUnknownFirmware) || !strings.Contains(err.Error(), "UCC450HD_3.4.6.537") {
		t.Errorf("a partial version: %v, want ErrUnknownFirmware listing the versions", err)
	}
	if _, err := c.Model("c999"); !errors.Is(err, catalog.ErrUnknownModel) || !strings.Contains(err.Error(), `unknown model "c999"`) {
		t.Errorf("unknown model: %v", err)
	}
}

func TestVersionCompare(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"UC430HD_3.2.1.580", "UC430HD_3.4.6.537", -1},
		{"3.4.6.537", "UC430HD_3.4.6.537", 0},
		{"5.4.0A", "5.5.1.11526", -1},
		{"5.9.0.9373", "5.10.0.1", -1},
		{"35.8.1.52", "35.8.1.52", 0},
		{"4.0.7577.4463", "4.0.7577.4400", 1},
		{"3.0.0.459.1", "3.0.0.459", 1},
	}
	for _, tt := range tests {
		a, err := catalog.ParseVersion(tt.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := catalog.ParseVersion(tt.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.Compare(b); got != tt.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
	for _, bad := range []string{"", "5", "v5.4", "5.4.x"} {
		if _, err := catalog.ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q): no error", bad)
		}
	}
}

// Every softkey of the built-in catalog shows whole on every model: its
// label fits the model's softkey cell, or its short label does.
func TestBuiltinSoftkeysFit(t *testing.T) {
	c, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range c.ModelIDs() {
		m := c.Models[id]
		width := m.Display.Columns/m.Display.Softkeys - 1
		for _, screen := range catalog.Screens {
			for i, k := range m.Vendor.Softkeys.For(screen) {
				if got := k.LabelFor(width); got != k.Label && got != k.Short {
					t.Errorf("%s softkeys.%s[%d]: %q is cut to %q in %d cells: give it a short label", id, screen, i, k.Label, got, width)
				}
			}
		}
	}
}

func TestLabelFor(t *testing.T) {
	tests := []struct {
		k     catalog.Softkey
		width int
		want  string
	}{
		{catalog.Softkey{Label: "New Call", Short: "New"}, 8, "New Call"},
		{catalog.Softkey{Label: "New Call", Short: "New"}, 7, "New"},
		{catalog.Softkey{Label: "New Call"}, 7, "New Cal"},
		{catalog.Softkey{Label: "Transfer", Short: "Trnsfer"}, 5, "Trnsf"},
	}
	for _, tt := range tests {
		if got := tt.k.LabelFor(tt.width); got != tt.want {
			t.Errorf("%+v.LabelFor(%d) = %q, want %q", tt.k, tt.width, got, tt.want)
		}
	}
}
