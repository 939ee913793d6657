package firmware

// CheckPath is where phones post their update check.
const CheckPath = "/RequestHandler/ucdevice.upx"

// CheckRequest is what a phone sends when it checks for firmware.
type CheckRequest struct {
	Vendor   string `json:"vendor"`
	Model    string `json:"model"`
	Firmware string `json:"firmware"`
	MAC      string `json:"mac"`
	Serial   string `json:"serial"`
}

// CheckResponse is the version the phone should run and where its signed
// image is (paths on the answering server); Version is empty when the
// server has no rule for the phone.
type CheckResponse struct {
	Source      string `json:"source"`
	Version     string `json:"version,omitempty"`
	Target      string `json:"target,omitempty"`
	MetadataURL string `json:"metadata_url,omitempty"`
	ImageURL    string `json:"image_url,omitempty"`
	Length      int64  `json:"length,omitempty"`
	SHA256      string `json:"sha256,omitempty"`
}
