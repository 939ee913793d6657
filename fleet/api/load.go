package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// LoadControl is a fleet's call load as the API drives it: start one,
// change its rate or limit, stop it, read it.
type LoadControl interface {
	// StartLoad starts a load; ErrLoadRunning when one runs.
	StartLoad(LoadSpec) (LoadInfo, error)
	// ChangeLoad changes the running load; ErrNoLoad when none runs.
	ChangeLoad(LoadChange) (LoadInfo, error)
	// StopLoad stops placing calls (those up run to their end);
	// ErrNoLoad when no load was ever started.
	StopLoad() (LoadInfo, error)
	// Load reads the load started last; false when none was.
	Load() (LoadInfo, bool)
}

// Errors of a LoadControl the API answers with their own status; any
// other is a bad request (400).
var (
	ErrLoadRunning = errors.New("a call load is running: stop it first (DELETE /v1/load)")
	ErrNoLoad      = errors.New("no call load: start one with POST /v1/load")
)

// LoadSpec is a call load's knobs, as deskphone fleet's --call-* flags
// and a fleet file's load section name them; durations are Go durations
// such as "10s".
type LoadSpec struct {
	Rate     float64 `json:"rate"`
	Duration string  `json:"duration,omitempty"`
	MaxCalls int     `json:"max_calls,omitempty"`
	Calls    int     `json:"calls,omitempty"`
	For      string  `json:"for,omitempty"`
	Timeout  string  `json:"timeout,omitempty"`
	To       string  `json:"to"`
}

// LoadChange is what PATCH /v1/load changes; an absent knob stays.
type LoadChange struct {
	Rate     *float64 `json:"rate,omitempty"`
	MaxCalls *int     `json:"max_calls,omitempty"`
}

// LoadInfo is a load: its knobs, whether it still runs (places calls or
// has calls up) and places calls, its counts and figures so far.
type LoadInfo struct {
	Running bool        `json:"running"`
	Placing bool        `json:"placing"`
	Config  LoadSpec    `json:"config"`
	Summary LoadSummary `json:"summary"`
}

// LoadSummary is a load's counts and figures, computed from every call; a
// figure with no call behind it is null.
type LoadSummary struct {
	Attempted int            `json:"attempted"`
	Answered  int            `json:"answered"`
	Failed    int            `json:"failed"`
	Cancelled int            `json:"cancelled"`
	InFlight  int            `json:"in_flight"`
	Up        int            `json:"up"`
	Failures  map[string]int `json:"failures"`
	SetupP50  *float64       `json:"setup_p50_seconds"`
	SetupP95  *float64       `json:"setup_p95_seconds"`
	SetupP99  *float64       `json:"setup_p99_seconds"`
	MOSP5     *float64       `json:"mos_p5"`
	MOSP50    *float64       `json:"mos_p50"`
	JitterP99 *float64       `json:"jitter_p99_ms"`
	Loss      *float64       `json:"loss_ratio"`
}

func (s *Server) loadRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/load", s.getLoad)
	mux.HandleFunc("POST /v1/load", s.startLoad)
	mux.HandleFunc("PATCH /v1/load", s.changeLoad)
	mux.HandleFunc("DELETE /v1/load", s.stopLoad)
}

// noLoadControl answers 404 when the API serves no fleet (deskphone run).
func (s *Server) noLoadControl(w http.ResponseWriter) bool {
	if s.Load != nil {
		return false
	}
	problem(w, http.StatusNotFound, "no-load", "No call load here", "call load is a fleet's (deskphone fleet --api)")
	return true
}

func (s *Server) getLoad(w http.ResponseWriter, _ *http.Request) {
	if s.noLoadControl(w) {
		return
	}
	info, ok := s.Load.Load()
	if !ok {
		loadProblem(w, ErrNoLoad)
		return
	}
	writeJSON(w, info)
}

// decodeBody reads a JSON body into v, refusing unknown fields.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, want string) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		problem(w, http.StatusBadRequest, "malformed-json", "Malformed request body", fmt.Sprintf("want %s: %v", want, err))
		return false
	}
	return true
}

func (s *Server) startLoad(w http.ResponseWriter, r *http.Request) {
	if s.noLoadControl(w) {
		return
	}
	var spec LoadSpec
	if !decodeBody(w, r, &spec, `{"rate": 10, "duration": "2s", "to": "fleet"}`) {
		return
	}
	info, err := s.Load.StartLoad(spec)
	if err != nil {
		loadProblem(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(info)
}

func (s *Server) changeLoad(w http.ResponseWriter, r *http.Request) {
	if s.noLoadControl(w) {
		return
	}
	var c LoadChange
	if !decodeBody(w, r, &c, `{"rate": 20, "max_calls": 100}`) {
		return
	}
	info, err := s.Load.ChangeLoad(c)
	if err != nil {
		loadProblem(w, err)
		return
	}
	writeJSON(w, info)
}

func (s *Server) stopLoad(w http.ResponseWriter, _ *http.Request) {
	if s.noLoadControl(w) {
		return
	}
	info, err := s.Load.StopLoad()
	if err != nil {
		loadProblem(w, err)
		return
	}
	writeJSON(w, info)
}

// loadProblem answers a LoadControl's error.
func loadProblem(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, ErrLoadRunning):
		problem(w, http.StatusConflict, "load-running", "A call load is running", err.Error())
	case errors.Is(err, ErrNoLoad):
		problem(w, http.StatusNotFound, "no-load", "No call load", err.Error())
	default:
		problem(w, http.StatusBadRequest, "bad-load", "Bad call load", err.Error())
	}
}
