package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The admin API is JSON over HTTP on a unix socket of mode 0600 (so only
// root and the daemon's own user reach it; file permissions are the
// authentication), optionally also on a loopback TCP port where every
// request must carry a bearer token. The CLI subcommands tickets, backup,
// outbox, reload, status, report, hours and notify are its clients
// (admin_client.go, agreement_client.go).
//
//	GET  /v1/status               statusReply
//	GET  /v1/tickets?state=&customer=&breached=1   []ticketRow
//	GET  /v1/tickets/{case}       ticketDetail
//	GET  /v1/backup               the database file, streamed; trailer X-Helpdeskd-Sha256
//	GET  /v1/outbox               []outboxRow
//	POST /v1/outbox/{id}/retry    outboxRow
//	POST /v1/reload               reloadReport
//	GET  /v1/report?customer=&from=&to=   report (report_cmd.go)
//	GET  /v1/hours?agreement=&period=&at=   hoursReply (admin_agreements.go)
//	GET  /v1/agreement-report?agreement=&period=&format=json|text|csv|html[&html=1]   agreementReportReply
//	POST /v1/agreement-report/send  reportSendRequest → reportSendReply
//	POST /v1/notify               notifyRequest → notifyReply
//
// Errors are {"error": "...", "code": "..."} with a 4xx/5xx status; code
// is set for the mistakes of agreement requests (requestCodes).

// AdminConfig is the admin API's listeners.
type AdminConfig struct {
	// Socket is the unix socket; "" puts admin.sock beside store.path.
	Socket string `mapstructure:"socket" yaml:"socket"`
	// Listen, when set, also serves the API on this loopback host:port,
	// where requests need the token of TokenFile.
	Listen    string `mapstructure:"listen" yaml:"listen"`
	TokenFile string `mapstructure:"token_file" yaml:"token_file"`

	// token is TokenFile's content after Validate.
	token string
}

// defaultAdminSocketName is the socket's name in the store's directory.
const defaultAdminSocketName = "admin.sock"

// maxUnixPath is the longest unix socket path Linux accepts (sun_path is
// 108 bytes including the terminating NUL).
const maxUnixPath = 107

// minTokenLen keeps tokens guessable by no one.
const minTokenLen = 16

// SocketPath is the admin socket of a configuration with store path store.
func (a *AdminConfig) SocketPath(storePath string) string {
	if a.Socket != "" {
		return a.Socket
	}
	if storePath == "" {
		return ""
	}
	return filepath.Join(filepath.Dir(storePath), defaultAdminSocketName)
}

func (a *AdminConfig) check(c *Config, p *problems) {
	if a.Socket != "" && !filepath.IsAbs(a.Socket) {
		p.add("admin.socket", "%q must be an absolute path, e.g. \"/run/helpdeskd/admin.sock\"; \"\" puts admin.sock beside store.path", a.Socket)
	} else if s := a.SocketPath(c.Store.Path); len(s) > maxUnixPath {
		p.add("admin.socket", "%q is %d bytes, longer than the %d a unix socket path may have; set a shorter admin.socket", s, len(s), maxUnixPath)
	}
	if a.Listen == "" {
		if a.TokenFile != "" {
			p.add("admin.token_file", "is set but admin.listen is empty; the token is only for the TCP listener (the unix socket is protected by its file mode)")
		}
		a.token = ""
		return
	}
	host, port, err := net.SplitHostPort(a.Listen)
	if err != nil {
		p.add("admin.listen", "%q is not host:port, e.g. \"127.0.0.1:9155\"; \"\" disables the TCP listener", a.Listen)
	} else if checkPort(p, "admin.listen", port) && !isLoopback(host) {
		p.add("admin.listen", "%q is reachable from other machines; the admin API may listen on loopback only, e.g. \"127.0.0.1:%s\"", a.Listen, port)
	}
	if a.TokenFile == "" {
		p.add("admin.token_file", "required with admin.listen: a file holding the bearer token, e.g. made with `openssl rand -hex 32 > /etc/helpdeskd/admin-token`")
		return
	}
	b, err := os.ReadFile(a.TokenFile)
	if err != nil {
		p.add("admin.token_file", "reading %s: %v; give a file helpdeskd can read", a.TokenFile, errors.Unwrap(err))
		return
	}
	tok := strings.TrimRight(string(b), "\r\n")
	if len(tok) < minTokenLen || strings.ContainsAny(tok, " \t\r\n") {
		p.add("admin.token_file", "the token in %s must be one line of at least %d characters without spaces, e.g. `openssl rand -hex 32`", a.TokenFile, minTokenLen)
		return
	}
	a.token = tok
}

// options maps the section to the daemon's adminOptions.
func (a *AdminConfig) options(storePath string) adminOptions {
	return adminOptions{Socket: a.SocketPath(storePath), Listen: a.Listen, Token: a.token}
}

// adminOptions configure the admin listeners. Zero Socket: no admin API
// (the in-process tests and the demo).
type adminOptions struct {
	Socket string
	Listen string
	Token  string // required with Listen
}

// adminServer serves the admin API for one daemon.
type adminServer struct {
	d      *daemon
	log    *slog.Logger
	srv    *http.Server
	lns    []net.Listener
	socket string
	token  atomic.Pointer[string]
}

// errAdminSocketInUse: another live process answers on the socket.
var errAdminSocketInUse = errors.New("admin socket is in use by another running helpdeskd")

// listenAdmin creates the listeners; nothing is served until serve.
func listenAdmin(d *daemon, o adminOptions) (*adminServer, error) {
	a := &adminServer{d: d, log: d.log.With("component", "admin"), socket: o.Socket}
	a.token.Store(&o.Token)
	ln, err := listenUnixPrivate(o.Socket)
	if err != nil {
		return nil, err
	}
	a.lns = append(a.lns, ln)
	if o.Listen != "" {
		if o.Token == "" {
			ln.Close()
			return nil, errors.New("admin.listen: a token is required for the TCP listener")
		}
		tl, err := net.Listen("tcp", o.Listen)
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("admin.listen: %w", err)
		}
		a.lns = append(a.lns, tl)
	}
	a.srv = &http.Server{Handler: a.routes(), ReadHeaderTimeout: 10 * time.Second}
	return a, nil
}

// listenUnixPrivate listens on a unix socket that only the owner can
// connect to. The socket is created under a umask that leaves no window
// in which it has wider permissions. A stale socket left by a daemon that
// died is replaced; a live one is an error; any other file is left alone.
func listenUnixPrivate(path string) (net.Listener, error) {
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("admin socket %s: a file that is not a socket is in the way; remove it or set admin.socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s: %w", path, errAdminSocketInUse)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin socket %s: removing the stale socket: %w", path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	old := syscall.Umask(0o177)
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	return ln, nil
}

// serve runs until shutdown.
func (a *adminServer) serve() {
	for _, ln := range a.lns {
		a.log.Info("admin API listening", "addr", ln.Addr().String())
		go func() {
			if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				a.log.Error("admin API stopped", "addr", ln.Addr().String(), "err", err)
			}
		}()
	}
}

// setToken replaces the TCP token (on reload).
func (a *adminServer) setToken(tok string) { a.token.Store(&tok) }

// shutdown lets requests in flight finish for a while, then cuts them
// (a long backup download must not hold up the stop for ever); the unix
// socket file is removed.
func (a *adminServer) shutdown(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		a.log.Warn("admin API requests cut off at shutdown", "err", err)
		a.srv.Close()
	}
}

// close releases listeners that were never served.
func (a *adminServer) close() {
	for _, ln := range a.lns {
		ln.Close()
	}
}

func (a *adminServer) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", a.status)
	mux.HandleFunc("GET /v1/tickets", a.tickets)
	mux.HandleFunc("GET /v1/tickets/{case}", a.ticket)
	mux.HandleFunc("GET /v1/backup", a.backup)
	mux.HandleFunc("GET /v1/outbox", a.outbox)
	mux.HandleFunc("POST /v1/outbox/{id}/retry", a.retry)
	mux.HandleFunc("POST /v1/reload", a.reload)
	mux.HandleFunc("GET /v1/report", a.report)
	mux.HandleFunc("GET /v1/hours", a.hours)
	mux.HandleFunc("GET /v1/agreement-report", a.agreementReport)
	mux.HandleFunc("POST /v1/agreement-report/send", a.sendAgreementReport)
	mux.HandleFunc("POST /v1/notify", a.notify)
	return a.authenticate(mux)
}

// authenticate lets unix socket requests through (the socket's mode is
// the check) and asks TCP requests for the bearer token.
func (a *adminServer) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && addr.Network() == "unix" {
			next.ServeHTTP(w, r)
			return
		}
		want := *a.token.Load()
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if want == "" || !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="helpdeskd"`)
			writeError(w, http.StatusUnauthorized, errors.New("missing or wrong bearer token (admin.token_file)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

type errorReply struct {
	Error string `json:"error"`
	// Code names the kind of mistake, for the agreement endpoints
	// (requestCodes); clients map it back to the CLI's exit status.
	Code string `json:"code,omitempty"`
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, errorReply{Error: err.Error()})
}

// statusFor maps an error to an HTTP status.
func statusFor(err error) int {
	switch {
	case errors.Is(err, ticket.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// errBadRequest marks a request the client got wrong.
var errBadRequest = errors.New("bad request")

// statusReply is GET /v1/status.
type statusReply struct {
	Version       string    `json:"version"`
	PID           int       `json:"pid"`
	Started       time.Time `json:"started"`
	Store         string    `json:"store"`
	Socket        string    `json:"socket"`
	OutboxPending int       `json:"outbox_pending"`
	OutboxOldest  time.Time `json:"outbox_oldest,omitzero"`
	Intake        string    `json:"intake"`                 // connected, failing, starting
	IntakeError   string    `json:"intake_error,omitempty"` // why failing
	IntakeSince   time.Time `json:"intake_since,omitzero"`
	LastReload    time.Time `json:"last_reload,omitzero"`
	ReloadError   string    `json:"reload_error,omitempty"` // of the last reload, if it was rejected
}

func (a *adminServer) status(w http.ResponseWriter, _ *http.Request) {
	d := a.d
	st := statusReply{
		Version: version, PID: os.Getpid(), Started: d.started, Store: d.db.Path(), Socket: a.socket,
	}
	n, oldest, err := d.db.OutboxStats()
	if err != nil {
		writeError(w, http.StatusInternalServerError, err)
		return
	}
	st.OutboxPending, st.OutboxOldest = n, oldest
	is := d.intakeState.Load()
	st.Intake, st.IntakeError, st.IntakeSince = is.state, is.err, is.since
	if r := d.lastReload.Load(); r != nil {
		st.LastReload, st.ReloadError = r.at, r.err
	}
	writeJSON(w, http.StatusOK, st)
}

func (a *adminServer) tickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := ticketFilter{State: ticket.State(q.Get("state")), Customer: q.Get("customer")}
	if b := q.Get("breached"); b != "" {
		v, err := strconv.ParseBool(b)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("breached=%q is not true or false", b))
			return
		}
		f.Breached = v
	}
	rows, err := listTickets(a.d.db, f, time.Now())
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, rows)
}

func (a *adminServer) ticket(w http.ResponseWriter, r *http.Request) {
	det, err := showTicket(a.d.db, r.PathValue("case"))
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, det)
}

// Backup trailers: the client checks that it got every byte.
const (
	trailerSHA256 = "X-Helpdeskd-Sha256"
	trailerBytes  = "X-Helpdeskd-Bytes"
	headerStore   = "X-Helpdeskd-Store"
)

// backup streams a consistent copy of the database: the snapshot of one
// read transaction, so intake and the sender go on writing meanwhile.
// A failure half-way aborts the response; the client sees a short,
// unterminated body and keeps no file.
func (a *adminServer) backup(w http.ResponseWriter, r *http.Request) {
	h := sha256.New()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(headerStore, a.d.db.Path())
	w.Header().Set("Trailer", trailerSHA256+", "+trailerBytes)
	w.WriteHeader(http.StatusOK)
	n, err := a.d.db.Backup(io.MultiWriter(w, h))
	if err != nil {
		a.log.Error("backup over the admin API failed", "err", err, "bytes", n)
		panic(http.ErrAbortHandler)
	}
	w.Header().Set(trailerSHA256, hex.EncodeToString(h.Sum(nil)))
	w.Header().Set(trailerBytes, strconv.FormatInt(n, 10))
	a.log.Info("backup streamed over the admin API", "bytes", n, "remote", r.RemoteAddr)
}

// outboxRow is one queued mail without its bytes.
type outboxRow struct {
	ID          uint64    `json:"id"`
	State       string    `json:"state"` // pending, failed
	Purpose     string    `json:"purpose"`
	Case        string    `json:"case,omitempty"`
	To          []string  `json:"to"`
	MessageID   string    `json:"message_id"`
	Created     time.Time `json:"created"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Bytes       int       `json:"bytes"`
}

func newOutboxRow(env mailer.Envelope, failed bool) outboxRow {
	r := outboxRow{
		ID: env.ID, State: "pending", Purpose: env.Purpose, Case: env.Case, To: env.To,
		MessageID: env.MessageID, Created: env.Created, Attempts: env.Attempts,
		NextAttempt: env.NextAttempt, LastError: env.LastError, Bytes: len(env.Raw),
	}
	if failed {
		r.State, r.NextAttempt = "failed", time.Time{}
	}
	return r
}

func (a *adminServer) outbox(w http.ResponseWriter, _ *http.Request) {
	rows := []outboxRow{}
	err := a.d.db.Outbox(func(env mailer.Envelope, failed bool) error {
		rows = append(rows, newOutboxRow(env, failed))
		return nil
	})
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, rows)
}

// retry makes a pending or failed mail due now and wakes the sender.
func (a *adminServer) retry(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		writeError(w, http.StatusBadRequest, fmt.Errorf("outbox ID %q is not a positive number", r.PathValue("id")))
		return
	}
	if err := a.d.db.Retry(id); err != nil {
		if errors.Is(err, ticket.ErrNotFound) {
			err = fmt.Errorf("no mail %d in the outbox (delivered mail leaves it): %w", id, ticket.ErrNotFound)
		}
		writeError(w, statusFor(err), err)
		return
	}
	a.d.kickSender()
	var row *outboxRow
	a.d.db.Outbox(func(env mailer.Envelope, failed bool) error {
		if env.ID == id {
			rr := newOutboxRow(env, failed)
			row = &rr
		}
		return nil
	})
	if row == nil { // delivered already, between Retry and now
		row = &outboxRow{ID: id, State: "delivered"}
	}
	a.log.Info("outbox retry requested", "outbox_id", id)
	writeJSON(w, http.StatusOK, row)
}

func (a *adminServer) reload(w http.ResponseWriter, _ *http.Request) {
	rep, err := a.d.reloadFromSource()
	if err != nil {
		status := http.StatusUnprocessableEntity
		if errors.Is(err, errNoReloadSource) || errors.Is(err, errStopping) {
			status = http.StatusConflict
		}
		writeError(w, status, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
