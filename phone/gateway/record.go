package gateway

import (
	"github.com/deskphone/deskphone/phone/statedir"
)

// File is the gateway record in the state directory: the device key the
// gateway issued, the provisioning URL it was issued by, the device's
// state and the account it registers with.
const File = "gateway.json"

// FileSpec is how File is read: what every save writes.
var FileSpec = statedir.File{
	Name:     File,
	Required: []string{"device_key", "url", "state"},
	New:      func() any { return &record{} },
}

// record is what gateway.json holds.
type record struct {
	DeviceKey string   `json:"device_key"`
	URL       string   `json:"url"`
	State     string   `json:"state"`
	Account   *Account `json:"account,omitempty"`
	Screens   Screens  `json:"screens"`
}

// Account is the SIP account the gateway gave the phone: the device's own
// while signed out, the user's once signed in.
type Account struct {
	Server      string `json:"server"`
	Domain      string `json:"domain,omitempty"`
	User        string `json:"user"`
	Password    string `json:"password,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	Number      string `json:"number,omitempty"`
}

// load reads the record; a damaged one is reported by name and the agent
// goes on as a device the gateway has not seen.
func (a *Agent) load() {
	var r record
	found, err := a.env.Dir().Load(FileSpec, &r)
	if err != nil {
		a.env.Log("err", "%v", err)
		a.env.Damaged(File)
		a.rec = record{}
		return
	}
	if !found || r.URL != a.url {
		// Another gateway's key means nothing here.
		a.rec = record{}
		return
	}
	a.rec = r
}

// save writes the record atomically; a failure is logged and the phone
// goes on with it in memory.
func (a *Agent) save() {
	a.rec.URL = a.url
	if err := a.env.Dir().Save(FileSpec, a.rec); err != nil {
		a.env.Log("err", "saving %s: %v", File, err)
	}
}
