package backend

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/deskphone/deskphone/internal/numbered"
)

// User is a subscriber of the mock cloud: a phone signs in as User with
// Password and is reached by User or Extension.
type User struct {
	User        string `yaml:"user" json:"user"`
	Password    string `yaml:"password" json:"password,omitempty"`
	DisplayName string `yaml:"display_name" json:"display_name,omitempty"`
	Extension   string `yaml:"extension" json:"extension,omitempty"`
}

// Validate checks the fields of one user: a name of letters, digits, '.',
// '_' or '-' (at most 64) that is not a service name, a non-empty password
// and an extension of 1 to 15 digits or none.
func (u User) Validate() error {
	_, err := u.check()
	return err
}

// check is Validate, with the key of the field at fault (for the users
// file's error placement).
func (u User) check() (field string, err error) {
	switch {
	case u.User == "":
		return "user", fmt.Errorf("%w: empty user name", ErrInvalidUser)
	case len(u.User) > 64:
		return "user", fmt.Errorf("%w: user name longer than 64", ErrInvalidUser)
	case strings.IndexFunc(u.User, func(r rune) bool { return !isNameRune(r) }) >= 0:
		return "user", fmt.Errorf("%w: user name %q: only letters, digits, '.', '_' and '-'", ErrInvalidUser, u.User)
	case u.Password == "":
		return "password", fmt.Errorf("%w: user %q: empty password", ErrInvalidUser, u.User)
	case u.Extension != "" && (len(u.Extension) > 15 || strings.Trim(u.Extension, "0123456789") != ""):
		return "extension", fmt.Errorf("%w: user %q: extension %q is not 1-15 digits", ErrInvalidUser, u.User, u.Extension)
	}
	if s, ok := lookupService(u.User); ok {
		return "user", fmt.Errorf("%w: %q is the %s service", ErrInvalidUser, u.User, s.Name)
	}
	if s, ok := lookupService(u.Extension); ok {
		return "extension", fmt.Errorf("%w: extension %s belongs to the %s service", ErrInvalidUser, u.Extension, s.Name)
	}
	return "", nil
}

func isNameRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
}

// DefaultUsers are the users of a backend without a users file: alice
// (1001), bob (1002), carol (1003) and dave (1004), each with the password
// "secret".
func DefaultUsers() []User {
	return []User{
		{User: "alice", Password: "secret", DisplayName: "Alice Smith", Extension: "1001"},
		{User: "bob", Password: "secret", DisplayName: "Bob Jones", Extension: "1002"},
		{User: "carol", Password: "secret", DisplayName: "Carol White", Extension: "1003"},
		{User: "dave", Password: "secret", DisplayName: "Dave Brown", Extension: "1004"},
	}
}

// directory indexes users by lower-cased name and by extension. It is not
// safe for concurrent use; the Backend guards it.
type directory struct {
	users  []User
	byName map[string]int
	byExt  map[string]int
}

func newDirectory() *directory {
	return &directory{byName: map[string]int{}, byExt: map[string]int{}}
}

func (d *directory) add(u User) error {
	if _, ok := d.byName[strings.ToLower(u.User)]; ok {
		return fmt.Errorf("%w: name %q", ErrUserExists, u.User)
	}
	if _, ok := d.byExt[u.Extension]; ok && u.Extension != "" {
		return fmt.Errorf("%w: extension %s", ErrUserExists, u.Extension)
	}
	d.users = append(d.users, u)
	d.byName[strings.ToLower(u.User)] = len(d.users) - 1
	if u.Extension != "" {
		d.byExt[u.Extension] = len(d.users) - 1
	}
	return nil
}

// lookup finds a user by name (case-insensitive) or extension.
func (d *directory) lookup(nameOrExt string) (User, bool) {
	if i, ok := d.byName[strings.ToLower(nameOrExt)]; ok {
		return d.users[i], true
	}
	if i, ok := d.byExt[nameOrExt]; ok && nameOrExt != "" {
		return d.users[i], true
	}
	return User{}, false
}

// Service is a user the backend answers itself, with no phone behind it.
type Service struct {
	Name      string `json:"user"`
	Extension string `json:"extension"`
	// Description says what a call to it does.
	Description string `json:"description"`
}

// Service names.
const (
	// ServiceEcho answers with 200 and an SDP answer and stays in the call
	// until the caller hangs up; Config.Media makes it echo audio.
	ServiceEcho = "echo"
	// ServiceBusy rejects every call with 486 Busy Here.
	ServiceBusy = "busy"
	// ServiceNoAnswer rings (180) until the caller cancels (487).
	ServiceNoAnswer = "noanswer"
	// ServiceVoicemail answers; when the caller hangs up it records a new
	// message for the caller, whose phone then gets an MWI NOTIFY.
	ServiceVoicemail = "voicemail"
	// ServiceTone answers and plays a steady 1 kHz tone (with Config.Media).
	ServiceTone = "tone"
)

// Services lists the service users with their extensions.
func Services() []Service {
	return []Service{
		{Name: ServiceVoicemail, Extension: "8000", Description: "answers; hanging up leaves a voicemail for the caller (MWI)"},
		{Name: ServiceEcho, Extension: "8001", Description: "answers and stays in the call until BYE"},
		{Name: ServiceBusy, Extension: "8002", Description: "486 Busy Here"},
		{Name: ServiceNoAnswer, Extension: "8003", Description: "180 Ringing until CANCEL, then 487"},
		{Name: ServiceTone, Extension: "8004", Description: "answers and plays a steady 1 kHz tone"},
	}
}

func lookupService(nameOrExt string) (Service, bool) {
	if nameOrExt == "" {
		return Service{}, false
	}
	for _, s := range Services() {
		if strings.EqualFold(s.Name, nameOrExt) || s.Extension == nameOrExt {
			return s, true
		}
	}
	return Service{}, false
}

// MaxLoadUsers bounds the users one load pattern creates.
const MaxLoadUsers = numbered.MaxCount

// ParseLoadUsers reads PATTERN:PASSWORD:COUNT, such as
// load{n:05d}:secret:10000, into the users PATTERN names for 1 to COUNT,
// all with PASSWORD: the accounts of a fleet of phones (which numbers its
// phones from 1 with the same pattern). PATTERN:PASSWORD:COUNT:EXT also
// gives them extensions from EXT up, the phone numbers the SIP Gateway's
// bulk sign-in needs.
func ParseLoadUsers(spec string) ([]User, error) {
	ext := 0
	if i := strings.LastIndex(spec, ":"); i > 0 {
		if j := strings.LastIndex(spec[:i], ":"); j > 0 && isDigits(spec[i+1:]) && isDigits(spec[j+1:i]) && strings.Count(spec[strings.Index(spec, "}")+1:], ":") >= 3 {
			n, err := strconv.Atoi(spec[i+1:])
			if err != nil || n < 1 || len(spec[i+1:]) > 15 {
				return nil, fmt.Errorf("%w: load users %q: the first extension must be 1 to 15 digits", ErrInvalidUser, spec)
			}
			ext, spec = n, spec[:i]
		}
	}
	users, err := parseLoadUsers(spec)
	if err != nil || ext == 0 {
		return users, err
	}
	for i := range users {
		users[i].Extension = strconv.Itoa(ext + i)
		if err := users[i].Validate(); err != nil {
			return nil, fmt.Errorf("load users: %w", err)
		}
	}
	return users, nil
}

func isDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

func parseLoadUsers(spec string) ([]User, error) {
	// The pattern's own colon ({n:05d}) is inside its braces.
	from := 0
	if i := strings.Index(spec, "}"); i >= 0 {
		from = i
	}
	first, last := strings.Index(spec[from:], ":"), strings.LastIndex(spec, ":")
	if first >= 0 {
		first += from
	}
	if first < 0 || first == last {
		return nil, fmt.Errorf("%w: load users %q: want PATTERN:PASSWORD:COUNT, e.g. load{n:05d}:secret:10000", ErrInvalidUser, spec)
	}
	pat, err := numbered.Parse(spec[:first])
	if err != nil {
		return nil, fmt.Errorf("%w: load users: %w", ErrInvalidUser, err)
	}
	if pat.Fixed() {
		return nil, fmt.Errorf("%w: load users %q: the pattern needs {n}, e.g. load{n:05d}", ErrInvalidUser, spec)
	}
	count, err := strconv.Atoi(spec[last+1:])
	if err != nil || count < 1 || count > MaxLoadUsers {
		return nil, fmt.Errorf("%w: load users %q: COUNT must be 1 to %d", ErrInvalidUser, spec, MaxLoadUsers)
	}
	password := spec[first+1 : last]
	users := make([]User, count)
	for i := range users {
		users[i] = User{User: pat.Name(i + 1), Password: password}
		if err := users[i].Validate(); err != nil {
			return nil, fmt.Errorf("load users: %w", err)
		}
	}
	return users, nil
}
