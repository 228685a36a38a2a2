package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// Where `helpdeskd hours`, `report --agreement` and `notify` run: through
// the running daemon's admin API when it answers; on the database file
// of the configuration when no daemon does (no socket, connection
// refused), as before there was an API; on the file --file names, a
// backup, read-only. A copy is not the live desk: mail queued in it would
// never be sent, so commands that queue mail refuse --file.

// deskTarget is where an agreement command runs.
type deskTarget struct {
	// admin finds the daemon (-c, --socket, --addr, --token-file); its
	// configuration also gives the agreements and store.path when the
	// command runs on a file.
	admin   adminFlags
	file    string    // --file: a copy of the database, read-only
	verbose bool      // say which daemon or file answered
	diag    io.Writer // where --verbose writes; nil: standard error
}

// deskPlace is where a command ran, for its confirmation.
type deskPlace struct {
	via  string // "the admin socket at …", "the database file …"
	live bool   // the running daemon, which sends queued mail at once
}

// connFlags are the flags hours and notify add for reaching the daemon
// (report has them through its adminFlags).
type connFlags struct {
	socket, addr, tokenFile string
	verbose                 bool
}

func (f *connFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.socket, "socket", "", "admin socket of the running daemon (default: from the configuration)")
	cmd.Flags().StringVar(&f.addr, "addr", "", "admin.listen host:port to use instead of the socket (needs --token-file)")
	cmd.Flags().StringVar(&f.tokenFile, "token-file", "", "file with the bearer token for --addr")
	registerVerbose(cmd, &f.verbose)
}

func registerVerbose(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVarP(v, "verbose", "v", false, "say whether the running daemon (which socket) or a database file answered, on standard error")
}

func (t deskTarget) say(format string, args ...any) {
	if !t.verbose {
		return
	}
	w := t.diag
	if w == nil {
		w = os.Stderr
	}
	fmt.Fprintf(w, "helpdeskd: "+format+"\n", args...)
}

// run runs one operation: remote through the daemon when it answers,
// else local on a database file. write says that the operation queues
// mail, which a copy (--file) refuses.
func (t deskTarget) run(ctx context.Context, write bool, remote func(*adminClient) error, local func(*agreementEnv) error) (deskPlace, error) {
	if t.file != "" {
		if write {
			return deskPlace{}, errReadOnlyCopy
		}
		cfg, err := loadValid(t.admin.config)
		if err != nil {
			return deskPlace{}, err
		}
		st := &lazyStore{open: func() (*store.DB, error) { return openOffline(t.file) }}
		defer st.Close()
		t.say("reading the database file %s (--file) with the agreements of %s", t.file, t.admin.config)
		env, err := fileEnv(cfg, st, false)
		if err != nil {
			return deskPlace{}, err
		}
		return deskPlace{via: "the database file " + t.file}, local(env)
	}
	c, err := t.admin.client()
	if err != nil {
		return deskPlace{}, err
	}
	err = remote(c)
	if !errors.Is(err, errNotRunning) {
		if err == nil {
			t.say("answered by the running daemon through %s", c.where)
		}
		return deskPlace{via: c.where, live: true}, err
	}
	cfg, cerr := loadValid(t.admin.config)
	if cerr != nil {
		return deskPlace{}, fmt.Errorf("%w; to read its database file instead:\n%w", err, cerr)
	}
	path := cfg.Store.Path
	t.say("%v; using the database file %s with the agreements of %s", err, path, t.admin.config)
	st := &lazyStore{open: func() (*store.DB, error) { return openStopped(path, c.where, write) }}
	defer st.Close()
	env, err := fileEnv(cfg, st, write)
	if err != nil {
		return deskPlace{}, err
	}
	return deskPlace{via: "the database file " + path}, local(env)
}

// fileEnv is the agreementEnv of the CLI on a database file: the
// configuration's desk, which may queue mail only when writable.
func fileEnv(cfg *Config, st ticket.Store, writable bool) (*agreementEnv, error) {
	o := cfg.daemonOptions(discardLog).Desk
	o.Store, o.Logger = st, discardLog
	env := &agreementEnv{store: st, opts: o}
	if writable {
		desk, err := ticket.NewDesk(o)
		if err != nil {
			return nil, err
		}
		env.desk = desk
	}
	return env, nil
}

// openStopped opens the database of a daemon that does not answer on
// where. Only a command that queues mail creates a missing file (the
// daemon sends the mail when it starts).
func openStopped(path, where string, create bool) (*store.DB, error) {
	if !create {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such database file: helpdeskd has not run with this store.path yet", path)
		}
	}
	db, err := store.Open(path, store.Options{LockTimeout: 500 * time.Millisecond, Logger: discardLog, Verify: store.VerifyQuick})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w: a process holds it, yet no daemon answers on %s; if a helpdeskd runs with another admin.socket, give it with --socket", err, where)
	}
	return db, err
}

// lazyStore opens the database file on first use, so that a command that
// turns out not to need it (notify --dry-run) neither opens nor creates
// it.
type lazyStore struct {
	open func() (*store.DB, error)
	db   *store.DB
	err  error
}

func (s *lazyStore) get() (*store.DB, error) {
	if s.db == nil && s.err == nil {
		s.db, s.err = s.open()
	}
	return s.db, s.err
}

func (s *lazyStore) View(fn func(ticket.Tx) error) error {
	db, err := s.get()
	if err != nil {
		return err
	}
	return db.View(fn)
}

func (s *lazyStore) Update(fn func(ticket.Tx) error) error {
	db, err := s.get()
	if err != nil {
		return err
	}
	return db.Update(fn)
}

// Close closes the file if it was opened.
func (s *lazyStore) Close() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}

// The client side of the agreement endpoints (admin_agreements.go).

func (c *adminClient) hours(ctx context.Context, agreement, period string, at time.Time) (ticket.HourUse, error) {
	v := url.Values{"agreement": {agreement}}
	if period != "" {
		v.Set("period", period)
	}
	if !at.IsZero() {
		v.Set("at", at.Format(time.RFC3339))
	}
	var r hoursReply
	if err := c.get(ctx, "/v1/hours?"+v.Encode(), &r); err != nil {
		return ticket.HourUse{}, err
	}
	return r.use(), nil
}

func (c *adminClient) agreementReport(ctx context.Context, agreement, period string, html bool) (*agreementReportReply, error) {
	v := url.Values{"agreement": {agreement}, "period": {period}}
	if html {
		v.Set("html", "1")
	}
	r := &agreementReportReply{}
	if err := c.get(ctx, "/v1/agreement-report?"+v.Encode(), r); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *adminClient) sendReport(ctx context.Context, req reportSendRequest) (*reportSendReply, error) {
	r := &reportSendReply{}
	if err := c.postJSON(ctx, "/v1/agreement-report/send", req, r); err != nil {
		return nil, err
	}
	return r, nil
}

func (c *adminClient) notify(ctx context.Context, req notifyRequest) (*notifyReply, error) {
	r := &notifyReply{}
	if err := c.postJSON(ctx, "/v1/notify", req, r); err != nil {
		return nil, err
	}
	return r, nil
}
