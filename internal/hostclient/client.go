package hostclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mediagate/internal/media"
	"mediagate/internal/policydoc"
)

// MaxBody caps the JSON bodies read from the server other than policies.
const MaxBody = 1 << 20

// MaxWait is the longest long-poll the protocol allows.
const MaxWait = 60 * time.Second

// ErrServer wraps an answer of the server that is not a success; *StatusError
// says which.
var ErrServer = errors.New("office server refused the request")

// StatusError is a non-success HTTP answer.
type StatusError struct {
	Code int
	Body string // the start of the body, for the message
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("%v: HTTP %d", ErrServer, e.Code)
	}
	return fmt.Sprintf("%v: HTTP %d: %s", ErrServer, e.Code, e.Body)
}

func (e *StatusError) Unwrap() error { return ErrServer }

// Client talks to the office server's host endpoints over mutual TLS: the host's
// certificate on one side, the office CA as the only root on the other.
type Client struct {
	base string
	http *http.Client
}

// NewClient returns a client for an enrolled host.
func NewClient(st *State) (*Client, error) {
	u, err := url.Parse(st.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("office server address %q: want https://host[:port]", st.Server)
	}
	roots := x509.NewCertPool()
	roots.AddCert(st.CA)
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		RootCAs:      roots,
		Certificates: []tls.Certificate{st.Cert},
		ServerName:   u.Hostname(),
	}
	tr := &http.Transport{
		// The addresses recorded at enrolment, if the server has a name: no lookup.
		DialContext:           pinnedDial(st.Addresses),
		TLSClientConfig:       cfg,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: MaxWait + 15*time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   2,
		ForceAttemptHTTP2:     true,
	}
	return &Client{base: strings.TrimRight(st.Server, "/"), http: &http.Client{Transport: tr}}, nil
}

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Policy long-polls for a policy newer than version after, waiting at most wait on
// the server. It returns the envelope as received (unverified), or nil when the
// server has nothing newer (204). With delta, the host holds version after and the
// server may answer with a delta from it (policydoc.IsDelta) when that is smaller.
func (c *Client) Policy(ctx context.Context, after uint64, wait time.Duration, delta bool) ([]byte, error) {
	wait = min(max(wait, 0), MaxWait)
	ctx, cancel := context.WithTimeout(ctx, wait+20*time.Second)
	defer cancel()
	q := url.Values{"after": {strconv.FormatUint(after, 10)}, "wait": {strconv.Itoa(int(wait / time.Second))}}
	if delta && after > 0 {
		q.Set("delta", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/v1/host/policy?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch policy: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch policy: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil, nil
	case http.StatusOK:
		b, err := policydoc.ReadEnvelope(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("fetch policy: %w", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("fetch policy: %w", statusError(resp))
}

// Seen is one medium the daemon decided, as the host reports it.
type Seen struct {
	Medium   string    `json:"medium,omitempty"`
	Key      string    `json:"key"`
	Decision string    `json:"decision"` // allow or block
	Reason   string    `json:"reason"`
	Time     time.Time `json:"time"`
}

// Report is the host's state as POST /v1/host/report carries it.
type Report struct {
	Daemon        string           `json:"daemon"`
	PolicyVersion uint64           `json:"policy_version"`
	Seen          []Seen           `json:"seen"`
	CheckIns      []StationCheckIn `json:"checkins,omitempty"`
}

// StationCheckIn is a medium plugged into this host as a vault station: the server
// checks it in to the office's campaign. ID is the host's, so that a report sent
// again is recorded once.
type StationCheckIn struct {
	ID     string         `json:"id"`
	Seen   media.Identity `json:"seen"`
	Device string         `json:"device,omitempty"`
}

// StationOutcome is what the server made of a check-in: checked-in,
// already-checked-in, no-campaign, refused (Code says why) or not-station.
type StationOutcome struct {
	ID      string `json:"id"`
	Outcome string `json:"outcome"`
	Number  string `json:"number,omitempty"`
	Code    string `json:"code,omitempty"`
}

// Report sends the host's state; the answer holds the outcome of each check-in sent.
func (c *Client) Report(ctx context.Context, r Report) ([]StationOutcome, error) {
	if r.Seen == nil {
		r.Seen = []Seen{}
	}
	var ans struct {
		CheckIns []StationOutcome `json:"checkins"`
	}
	var out any
	if len(r.CheckIns) > 0 {
		out = &ans
	}
	if err := c.post(ctx, "/v1/host/report", r, out); err != nil {
		return nil, fmt.Errorf("report to the office server: %w", err)
	}
	return ans.CheckIns, nil
}

// Request is a registration request from this host (POST /v1/host/requests).
type Request struct {
	Identity  media.Identity `json:"identity"`
	Level     media.Level    `json:"level"`
	Purpose   string         `json:"purpose"`
	Requester string         `json:"requester"`
	Label     string         `json:"label,omitempty"`
}

// Request sends a registration request and returns its id on the server.
func (c *Client) Request(ctx context.Context, r Request) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.post(ctx, "/v1/host/requests", r, &out); err != nil {
		return "", fmt.Errorf("send registration request: %w", err)
	}
	if out.ID == "" {
		return "", errors.New("send registration request: the server returned no request id")
	}
	return out.ID, nil
}

func (c *Client) post(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return statusError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBody))
		return nil
	}
	return decodeBody(resp.Body, out)
}

func decodeBody(r io.Reader, out any) error {
	b, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return err
	}
	if len(b) > MaxBody {
		return fmt.Errorf("answer larger than %d bytes", MaxBody)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	return nil
}

// statusError reads the start of a failed answer: the server's error message, if it
// sent one as {"error":"…"} or plain text.
func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	msg := strings.TrimSpace(string(b))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	msg = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, msg)
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return &StatusError{Code: resp.StatusCode, Body: msg}
}
