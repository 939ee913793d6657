package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client is a typed client of the API, for Go programs and the API's own
// end-to-end tests.
type Client struct {
	// Base is the server's URL, e.g. http://127.0.0.1:8070.
	Base  string
	Token string
	HTTP  *http.Client
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.Base, "/")+path, rd)
	if err != nil {
		return err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		var p Problem
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			return fmt.Errorf("%s %s: %s, unreadable problem: %w", method, path, resp.Status, err)
		}
		return &p
	}
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusUnprocessableEntity {
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if s, ok := out.(*string); ok {
		data, err := io.ReadAll(resp.Body)
		*s = string(data)
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Phones lists the phones; group and state filter when not empty.
func (c *Client) Phones(ctx context.Context, group, state string) ([]PhoneInfo, error) {
	q := url.Values{}
	if group != "" {
		q.Set("group", group)
	}
	if state != "" {
		q.Set("state", state)
	}
	var out []PhoneInfo
	path := "/v1/phones"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return out, c.do(ctx, "GET", path, nil, &out)
}

// Phone reads one phone's status.
func (c *Client) Phone(ctx context.Context, id string) (PhoneInfo, error) {
	var out PhoneInfo
	return out, c.do(ctx, "GET", "/v1/phones/"+url.PathEscape(id), nil, &out)
}

// ScreenText reads a screen as headless prints it.
func (c *Client) ScreenText(ctx context.Context, id string) (string, error) {
	var out string
	return out, c.do(ctx, "GET", "/v1/phones/"+url.PathEscape(id)+"/screen", nil, &out)
}

// Screen reads a screen as JSON.
func (c *Client) Screen(ctx context.Context, id string) (Screen, error) {
	var out Screen
	return out, c.do(ctx, "GET", "/v1/phones/"+url.PathEscape(id)+"/screen?format=json", nil, &out)
}

// Command runs one headless command; a command that ran and failed is a
// Reply with OK false, not an error.
func (c *Client) Command(ctx context.Context, id, command string) (Reply, error) {
	var out Reply
	return out, c.do(ctx, "POST", "/v1/phones/"+url.PathEscape(id)+"/commands", Command{Command: command}, &out)
}

// GroupCommand runs one command on every phone of group.
func (c *Client) GroupCommand(ctx context.Context, group, command string) ([]Reply, error) {
	var out []Reply
	return out, c.do(ctx, "POST", "/v1/groups/"+url.PathEscape(group)+"/commands", Command{Command: command}, &out)
}

// StartLoad starts a call load (POST /v1/load).
func (c *Client) StartLoad(ctx context.Context, spec LoadSpec) (LoadInfo, error) {
	var out LoadInfo
	return out, c.do(ctx, "POST", "/v1/load", spec, &out)
}

// ChangeLoad changes the running load's rate or limit (PATCH /v1/load).
func (c *Client) ChangeLoad(ctx context.Context, change LoadChange) (LoadInfo, error) {
	var out LoadInfo
	return out, c.do(ctx, "PATCH", "/v1/load", change, &out)
}

// StopLoad stops placing calls (DELETE /v1/load); the calls up run to
// their end.
func (c *Client) StopLoad(ctx context.Context) (LoadInfo, error) {
	var out LoadInfo
	return out, c.do(ctx, "DELETE", "/v1/load", nil, &out)
}

// Load reads the load: its knobs, counts and summary so far (GET /v1/load).
func (c *Client) Load(ctx context.Context) (LoadInfo, error) {
	var out LoadInfo
	return out, c.do(ctx, "GET", "/v1/load", nil, &out)
}
