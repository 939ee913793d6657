package backend

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/deskphone/deskphone/backend/gateway"
	"github.com/deskphone/deskphone/internal/gwurl"
)

// The admin's actions on the Teams SIP Gateway (entries of Actions).

// errNoGateway is every gateway action on a cloud without one.
var errNoGateway = status(http.StatusServiceUnavailable, errors.New("the gateway is not running: start the cloud with --gateway ADDR"))

// gatewayStatus is the admin API's status for a gateway error.
func gatewayStatus(err error) error {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, gateway.ErrBadMAC), errors.Is(err, gateway.ErrBadLocation), errors.Is(err, gateway.ErrBadRegion),
		errors.Is(err, gateway.ErrBadCSV), errors.Is(err, gateway.ErrBatchTooLarge):
		code = http.StatusBadRequest
	case errors.Is(err, gateway.ErrTooManyBatches):
		code = http.StatusTooManyRequests
	case errors.Is(err, gateway.ErrUnknownDevice), errors.Is(err, gateway.ErrNoBatch), errors.Is(err, gateway.ErrNotProvisioned):
		code = http.StatusNotFound
	case errors.Is(err, gateway.ErrNotSignedIn):
		code = http.StatusConflict
	}
	return status(code, err)
}

func (b *Backend) actGatewayDevices(Input) (Answer, error) {
	if b.gw == nil {
		return Answer{}, errNoGateway
	}
	return Answer{Value: b.gw.Devices()}, nil
}

func (b *Backend) actGatewayProvision(in Input) (Answer, error) {
	if b.gw == nil {
		return Answer{}, errNoGateway
	}
	info, err := b.gw.Provision(in.Query.Get("mac"), in.Query.Get("location"))
	if err != nil {
		return Answer{}, gatewayStatus(err)
	}
	return Answer{Value: info}, nil
}

func (b *Backend) actGatewayCode(in Input) (Answer, error) {
	if b.gw == nil {
		return Answer{}, errNoGateway
	}
	c, err := b.gw.Code(in.Query.Get("mac"))
	if err != nil {
		return Answer{}, gatewayStatus(err)
	}
	return Answer{Value: c}, nil
}

// actGatewaySignOut signs a device out remotely; the phone hears of it by
// check-sync.
func (b *Backend) actGatewaySignOut(in Input) (Answer, error) {
	if b.gw == nil {
		return Answer{}, errNoGateway
	}
	info, err := b.gw.SignOut(in.Query.Get("mac"))
	if err != nil {
		return Answer{}, gatewayStatus(err)
	}
	return Answer{Value: info}, nil
}

// BulkSignInRequest is the body of POST /admin/gateway/bulk-signin.
type BulkSignInRequest struct {
	Region string `json:"region"`
	CSV    string `json:"csv"`
}

func (b *Backend) actGatewayBulkSignIn(in Input) (Answer, error) {
	if b.gw == nil {
		return Answer{}, errNoGateway
	}
	var req BulkSignInRequest
	dec := json.NewDecoder(strings.NewReader(string(in.Body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Answer{}, status(http.StatusBadRequest, fmt.Errorf(`bad bulk sign-in JSON (want {"region": "emea", "csv": "Username,HardwareId\n..."}): %w`, err))
	}
	batch, err := b.gw.BulkSignIn([]byte(req.CSV), req.Region)
	if err != nil {
		return Answer{}, gatewayStatus(err)
	}
	return Answer{Code: http.StatusCreated, Value: batch}, nil
}

func (b *Backend) actGatewayBatch(in Input) (Answer, error) {
	if b.gw == nil {
		return Answer{}, errNoGateway
	}
	id := in.Query.Get("id")
	if id == "" {
		return Answer{Value: b.gw.Batches()}, nil
	}
	batch, err := b.gw.Batch(id)
	if err != nil {
		return Answer{}, gatewayStatus(err)
	}
	return Answer{Value: batch}, nil
}

// provisionArgs: MAC LOCATION..., the location's words joined.
func provisionArgs(args []string) (Input, error) {
	if len(args) < 2 {
		return Input{}, ErrActionUsage
	}
	return Input{Query: url.Values{"mac": {args[0]}, "location": {strings.Join(args[1:], " ")}}}, nil
}

// provisionStep: "MAC LOCATION".
func provisionStep(_, value string) (Input, error) {
	f := strings.Fields(value)
	if len(f) < 2 {
		return Input{}, errors.New(`gateway_provision is "MAC LOCATION", e.g. "00-90-8f-12-34-56 Reception"`)
	}
	return provisionArgs(f)
}

func checkProvision(value string) error {
	in, err := provisionStep("", value)
	if err != nil {
		return err
	}
	return checkMAC(in.Query.Get("mac"))
}

func checkMAC(value string) error {
	if _, ok := gateway.ParseMAC(value); !ok {
		return fmt.Errorf("%q: %w", value, gateway.ErrBadMAC)
	}
	return nil
}

// bulkArgs: FILE.csv REGION, the file read here and sent in the body.
func bulkArgs(args []string) (Input, error) {
	if len(args) != 2 {
		return Input{}, ErrActionUsage
	}
	return bulkInput("", args[0], args[1])
}

func bulkInput(dir, file, region string) (Input, error) {
	if !filepath.IsAbs(file) && dir != "" {
		file = filepath.Join(dir, file)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return Input{}, fmt.Errorf("bulk sign-in: %w", err)
	}
	return BulkSignInInput(region, string(data)), nil
}

// BulkSignInInput is the input of gateway bulk-signin: the CSV of region.
func BulkSignInInput(region, csv string) Input {
	body, _ := json.Marshal(BulkSignInRequest{Region: region, CSV: csv})
	return Input{Body: body}
}

// bulkStep reads a gateway_bulk_signin step: "FILE REGION" on one line
// (FILE relative to dir, the scenario's folder), or inline: the region on
// the first line, the CSV on the next ones.
func bulkStep(dir, value string) (Input, error) {
	region, csv, multi := strings.Cut(strings.TrimSpace(value), "\n")
	if multi {
		return BulkSignInInput(strings.TrimSpace(region), csv), nil
	}
	f := strings.Fields(value)
	if len(f) != 2 {
		return Input{}, errors.New("gateway_bulk_signin is \"FILE.csv REGION\", or the region on a line and the CSV below it")
	}
	return bulkInput(dir, f[0], f[1])
}

func checkBulk(value string) error {
	first, _, multi := strings.Cut(strings.TrimSpace(value), "\n")
	region := strings.TrimSpace(first)
	if !multi {
		f := strings.Fields(value)
		if len(f) != 2 {
			return errors.New("gateway_bulk_signin is \"FILE.csv REGION\", or the region on a line and the CSV below it")
		}
		region = f[1]
	}
	if !slices.Contains(gwurl.Regions, region) {
		return &ValueError{Msg: fmt.Sprintf("gateway_bulk_signin: region %q is one of %s", region, strings.Join(gwurl.Regions, ", ")), Got: region, Known: gwurl.Regions}
	}
	return nil
}

// batchArgs: [ID]; none lists every batch.
func batchArgs(args []string) (Input, error) {
	switch len(args) {
	case 0:
		return Input{Query: url.Values{}}, nil
	case 1:
		return Input{Query: url.Values{"id": {args[0]}}}, nil
	}
	return Input{}, ErrActionUsage
}
