package idp

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// ErrPage is wrapped by Approve when the page did not end where it
// should; the error names the page kind and its message.
var ErrPage = errors.New("verification page")

// Approve plays the person at the browser: it opens the verification page
// at baseURL (the IdP's base URL, or the verification_uri itself, with or
// without its query), enters
// code, signs in as user with password and presses Continue (allow) or
// Deny, through the real forms with their CSRF token and cookie. It
// returns nil when the page confirms the decision.
func Approve(ctx context.Context, baseURL, code, user, password string, allow bool) error {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("approve: base URL %q: want http(s)://host[:port][/devicelogin]", baseURL)
	}
	u.RawQuery, u.Fragment = "", ""
	if !strings.HasSuffix(u.Path, VerificationPath) {
		u.Path = strings.TrimRight(u.Path, "/") + VerificationPath
	}
	page := u.String()
	jar, err := cookiejar.New(nil)
	if err != nil {
		return fmt.Errorf("approve: %w", err)
	}
	c := &http.Client{Jar: jar}
	kind, body, err := fetch(ctx, c, http.MethodGet, page, nil)
	if err != nil {
		return err
	}
	if kind != PageCode {
		return pageError("open", kind, body)
	}
	kind, body, err = fetch(ctx, c, http.MethodPost, page, url.Values{
		"csrf": {hiddenValue(body, "csrf")}, "step": {PageCode}, "code": {code},
	})
	if err != nil {
		return err
	}
	if kind != PageSignIn {
		return pageError("enter code", kind, body)
	}
	action, want := "continue", PageDone
	if !allow {
		action, want = "deny", PageDenied
	}
	kind, body, err = fetch(ctx, c, http.MethodPost, page, url.Values{
		"csrf": {hiddenValue(body, "csrf")}, "step": {PageSignIn}, "code": {hiddenValue(body, "code")},
		"username": {user}, "password": {password}, "action": {action},
	})
	if err != nil {
		return err
	}
	if kind != want {
		return pageError(action, kind, body)
	}
	return nil
}

var (
	pageKindRE = regexp.MustCompile(`<body data-page="([a-z]+)"`)
	errorRE    = regexp.MustCompile(`<p class="error" id="error">([^<]*)</p>`)
)

func fetch(ctx context.Context, c *http.Client, method, page string, form url.Values) (kind, body string, err error) {
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, page, rd)
	if err != nil {
		return "", "", fmt.Errorf("approve: %w", err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("approve: %s %s: %w", method, page, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("approve: %s %s: %w", method, page, err)
	}
	body = string(b)
	if m := pageKindRE.FindStringSubmatch(body); m != nil {
		kind = m[1]
	}
	return kind, body, nil
}

func hiddenValue(body, name string) string {
	re := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`)
	if m := re.FindStringSubmatch(body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

func pageError(step, kind, body string) error {
	msg := ""
	if m := errorRE.FindStringSubmatch(body); m != nil {
		msg = ": " + html.UnescapeString(m[1])
	}
	if kind == "" {
		kind = "not the verification page"
	}
	return fmt.Errorf("%w: %s: ended on %q%s", ErrPage, step, kind, msg)
}
