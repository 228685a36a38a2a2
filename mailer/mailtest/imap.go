package mailtest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
)

// ErrUnknownUser is returned for a user the server was not started with.
var ErrUnknownUser = errors.New("mailtest: unknown user")

// IMAPOptions configures StartIMAPServer.
type IMAPOptions struct {
	// Addr to listen on. Zero: "127.0.0.1:0" (a free port). Only loopback
	// addresses are accepted.
	Addr string
	// Users maps user names to passwords. Every user gets an INBOX.
	Users map[string]string
	// Security of the listener: "plain" (zero, with LOGIN allowed in
	// clear), "tls" (implicit TLS) or "starttls". The certificate is
	// self-signed for 127.0.0.1, ::1 and localhost; ClientTLSConfig trusts it.
	Security string
	// NoMove and NoUIDPlus leave the MOVE and UIDPLUS capabilities out so
	// that clients' fallbacks can be exercised. IDLE is always offered.
	NoMove, NoUIDPlus bool
	// Logger receives the server's error messages at debug level.
	// Nil: they are discarded.
	Logger *slog.Logger
}

// IMAPServer is a running in-memory IMAP server.
type IMAPServer struct {
	addr      string
	clientTLS *tls.Config

	mem   *imapmemserver.Server
	users map[string]*imapmemserver.User
	pass  map[string]string

	public   *imapserver.Server
	tracker  *connTracker
	internal *imapserver.Server // over pipes, for Messages
	pipes    *pipeListener

	serving sync.WaitGroup
	closeMu sync.Mutex
	closed  bool
}

// IMAPMessage is one message of a mailbox as the server holds it.
type IMAPMessage struct {
	UID          uint32
	Flags        []string // as IMAP names them, e.g. `\Seen`
	InternalDate time.Time
	Raw          []byte
}

// HasFlag reports whether m carries flag (case-insensitive, e.g. `\Seen`).
func (m IMAPMessage) HasFlag(flag string) bool {
	want := imap.Flag(flag)
	for _, f := range m.Flags {
		if canonFlag(imap.Flag(f)) == canonFlag(want) {
			return true
		}
	}
	return false
}

// NewIMAPServer starts a plain-text IMAP server on addr ("" for a free
// loopback port) with the given users, each with an empty INBOX.
func NewIMAPServer(addr string, users map[string]string) (*IMAPServer, error) {
	return StartIMAPServer(IMAPOptions{Addr: addr, Users: users})
}

// TB is the part of testing.TB that StartIMAP uses; *testing.T and
// *testing.B satisfy it. It keeps the testing package out of binaries.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// StartIMAP starts a plain-text server on a free loopback port for a test
// and stops it when the test ends.
func StartIMAP(t TB, users map[string]string) *IMAPServer {
	t.Helper()
	return StartIMAPWith(t, IMAPOptions{Users: users})
}

// StartIMAPWith is StartIMAP with options.
func StartIMAPWith(t TB, o IMAPOptions) *IMAPServer {
	t.Helper()
	s, err := StartIMAPServer(o)
	if err != nil {
		t.Fatalf("mailtest: start IMAP server: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// StartIMAPServer starts a server as o describes.
func StartIMAPServer(o IMAPOptions) (*IMAPServer, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if err := checkLoopback(o.Addr); err != nil {
		return nil, err
	}
	s := &IMAPServer{
		mem:   imapmemserver.New(),
		users: make(map[string]*imapmemserver.User),
		pass:  make(map[string]string),
	}
	for name, pw := range o.Users {
		u := imapmemserver.NewUser(name, pw)
		if err := u.Create("INBOX", nil); err != nil {
			return nil, fmt.Errorf("mailtest: create INBOX of %q: %w", name, err)
		}
		s.mem.AddUser(u)
		s.users[name] = u
		s.pass[name] = pw
	}

	var serverTLS *tls.Config
	switch o.Security {
	case "", "plain":
	case "tls", "starttls":
		var err error
		serverTLS, s.clientTLS, err = selfSignedTLS()
		if err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("mailtest: Security %q: want plain, tls or starttls", o.Security)
	}

	logger := serverLogger{o.Logger}
	newSession := func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
		return &imapSession{srv: s}, nil, nil
	}
	opts := &imapserver.Options{
		NewSession:   newSession,
		Caps:         imapCaps(o),
		Logger:       logger,
		InsecureAuth: o.Security == "" || o.Security == "plain",
	}
	if o.Security == "starttls" {
		opts.TLSConfig = serverTLS
	}
	s.public = imapserver.New(opts)
	s.internal = imapserver.New(&imapserver.Options{
		NewSession:   newSession,
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		Logger:       logger,
		InsecureAuth: true,
	})

	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("mailtest: listen: %w", err)
	}
	s.addr = ln.Addr().String()
	s.tracker = &connTracker{Listener: ln, conns: make(map[net.Conn]struct{}), serving: make(chan struct{})}
	var served net.Listener = s.tracker
	if o.Security == "tls" {
		served = tls.NewListener(s.tracker, serverTLS)
	}
	s.pipes = newPipeListener()
	s.serving.Add(2)
	go func() { defer s.serving.Done(); _ = s.public.Serve(served) }()
	go func() { defer s.serving.Done(); _ = s.internal.Serve(s.pipes) }()
	// imapserver's Close must not race its Serve's start: wait until both
	// accept (a first Accept call comes after Serve registered).
	<-s.tracker.serving
	<-s.pipes.serving
	return s, nil
}

func imapCaps(o IMAPOptions) imap.CapSet {
	caps := imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapNamespace: {}}
	if !o.NoMove {
		caps[imap.CapMove] = struct{}{}
	}
	if !o.NoUIDPlus {
		caps[imap.CapUIDPlus] = struct{}{}
	}
	return caps
}

// Addr is the host:port the server listens on.
func (s *IMAPServer) Addr() string { return s.addr }

// ClientTLSConfig returns a client configuration that trusts the server's
// certificate, or nil for a plain-text server.
func (s *IMAPServer) ClientTLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Append stores raw as a new message in a mailbox of user; it wakes IDLE
// clients of that mailbox like a delivery would.
func (s *IMAPServer) Append(user, mailbox string, raw []byte) error {
	_, err := s.AppendUID(user, mailbox, raw)
	return err
}

// AppendUID is Append that also returns the UID the message got.
func (s *IMAPServer) AppendUID(user, mailbox string, raw []byte) (uint32, error) {
	u, err := s.user(user)
	if err != nil {
		return 0, err
	}
	data, err := u.Append(mailbox, bytes.NewReader(raw), &imap.AppendOptions{})
	if err != nil {
		return 0, fmt.Errorf("mailtest: append to %s/%s: %w", user, mailbox, err)
	}
	return uint32(data.UID), nil
}

// CreateMailbox creates a mailbox of user.
func (s *IMAPServer) CreateMailbox(user, mailbox string) error {
	u, err := s.user(user)
	if err != nil {
		return err
	}
	if err := u.Create(mailbox, nil); err != nil {
		return fmt.Errorf("mailtest: create %s/%s: %w", user, mailbox, err)
	}
	return nil
}

// RecreateMailbox deletes a mailbox of user and creates it again, empty and
// with a new UIDVALIDITY, as a server does after its index was rebuilt.
func (s *IMAPServer) RecreateMailbox(user, mailbox string) error {
	u, err := s.user(user)
	if err != nil {
		return err
	}
	if err := u.Delete(mailbox); err != nil {
		return fmt.Errorf("mailtest: delete %s/%s: %w", user, mailbox, err)
	}
	if err := u.Create(mailbox, nil); err != nil {
		return fmt.Errorf("mailtest: create %s/%s: %w", user, mailbox, err)
	}
	return nil
}

// UIDValidity returns the UIDVALIDITY of a mailbox of user.
func (s *IMAPServer) UIDValidity(user, mailbox string) (uint32, error) {
	u, err := s.user(user)
	if err != nil {
		return 0, err
	}
	st, err := u.Status(mailbox, &imap.StatusOptions{UIDValidity: true})
	if err != nil {
		return 0, fmt.Errorf("mailtest: status %s/%s: %w", user, mailbox, err)
	}
	return st.UIDValidity, nil
}

// Mailboxes lists the mailbox names of user, sorted.
func (s *IMAPServer) Mailboxes(user string) ([]string, error) {
	var names []string
	err := s.withClient(user, func(c *imapclient.Client) error {
		list, err := c.List("", "*", nil).Collect()
		if err != nil {
			return err
		}
		for _, l := range list {
			names = append(names, l.Mailbox)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// Messages returns the messages of a mailbox of user in UID order, with
// their flags, without changing any flag.
func (s *IMAPServer) Messages(user, mailbox string) ([]IMAPMessage, error) {
	var msgs []IMAPMessage
	err := s.withClient(user, func(c *imapclient.Client) error {
		if _, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
			return err
		}
		bufs, err := c.Fetch(imap.UIDSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{
			UID:          true,
			Flags:        true,
			InternalDate: true,
			BodySection:  []*imap.FetchItemBodySection{{Peek: true}},
		}).Collect()
		if err != nil {
			return err
		}
		for _, b := range bufs {
			m := IMAPMessage{UID: uint32(b.UID), InternalDate: b.InternalDate}
			for _, f := range b.Flags {
				m.Flags = append(m.Flags, string(f))
			}
			sort.Strings(m.Flags)
			if len(b.BodySection) > 0 {
				m.Raw = b.BodySection[0].Bytes
			}
			msgs = append(msgs, m)
		}
		return nil
	})
	slices.SortFunc(msgs, func(a, b IMAPMessage) int { return cmp.Compare(a.UID, b.UID) })
	return msgs, err
}

// withClient runs f on a client logged in as user over an in-memory pipe,
// so inspection neither depends on the listener's TLS nor shows up among
// the connections DropConnections closes.
func (s *IMAPServer) withClient(user string, f func(*imapclient.Client) error) error {
	pw, ok := s.pass[user]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownUser, user)
	}
	conn, err := s.pipes.dial()
	if err != nil {
		return err
	}
	c := imapclient.New(conn, nil)
	defer c.Close()
	if err := c.Login(user, pw).Wait(); err != nil {
		return fmt.Errorf("mailtest: login %q: %w", user, err)
	}
	if err := f(c); err != nil {
		return fmt.Errorf("mailtest: %s: %w", user, err)
	}
	return c.Logout().Wait()
}

// DropConnections closes every client connection as a network failure or
// a server restart would; the server keeps listening. It returns how many
// connections it closed.
func (s *IMAPServer) DropConnections() int {
	return s.tracker.closeAll()
}

// Connections returns the number of open client connections.
func (s *IMAPServer) Connections() int {
	return s.tracker.count()
}

// Close stops the server and closes every connection.
func (s *IMAPServer) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.public.Close()
	if ierr := s.internal.Close(); err == nil {
		err = ierr
	}
	s.serving.Wait()
	return err
}

func (s *IMAPServer) user(name string) (*imapmemserver.User, error) {
	u, ok := s.users[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownUser, name)
	}
	return u, nil
}

func canonFlag(f imap.Flag) string {
	return string(bytes.ToLower([]byte(f)))
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("mailtest: address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("mailtest: address %q is not loopback; the test server must not be reachable from the network", addr)
}

// connTracker remembers the accepted connections so that they can be cut.
type connTracker struct {
	net.Listener
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	serving chan struct{} // closed on the first Accept
	once    sync.Once
}

func (t *connTracker) Accept() (net.Conn, error) {
	t.once.Do(func() { close(t.serving) })
	c, err := t.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, t: t}
	t.mu.Lock()
	t.conns[tc] = struct{}{}
	t.mu.Unlock()
	return tc, nil
}

func (t *connTracker) closeAll() int {
	t.mu.Lock()
	conns := make([]net.Conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	return len(conns)
}

func (t *connTracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

type trackedConn struct {
	net.Conn
	t    *connTracker
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.t.mu.Lock()
		delete(c.t.conns, c)
		c.t.mu.Unlock()
	})
	return c.Conn.Close()
}

// pipeListener is a net.Listener whose connections are in-memory pipes.
type pipeListener struct {
	conns   chan net.Conn
	done    chan struct{}
	closed  sync.Once
	serving chan struct{} // closed on the first Accept
	started sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{}), serving: make(chan struct{})}
}

func (l *pipeListener) dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, fmt.Errorf("mailtest: server closed: %w", net.ErrClosed)
	}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	l.started.Do(func() { close(l.serving) })
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.closed.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "mailtest-pipe" }

// serverLogger adapts imapserver's Printf logger to slog.
type serverLogger struct{ l *slog.Logger }

func (s serverLogger) Printf(format string, args ...any) {
	if s.l != nil {
		s.l.Log(context.Background(), slog.LevelDebug, fmt.Sprintf(format, args...), "component", "mailtest-imap")
	}
}

// selfSignedTLS makes a throw-away certificate for the loopback names and
// a client configuration that trusts exactly it.
func selfSignedTLS() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("mailtest: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, fmt.Errorf("mailtest: serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "mailtest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("mailtest: certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("mailtest: certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion:   tls.VersionTLS12,
	}
	client = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client, nil
}

// imapSession is imapmemserver's user session with one fix: imapmemserver's
// IDLE sends only the changes that happen while it idles, and keeps those
// that arrived between the client's last command and IDLE queued until the
// next change. Real servers (Dovecot among them) send them at once, and so
// does this one, so that tests and benchmarks see a server's real latency.
type imapSession struct {
	*imapmemserver.UserSession // nil until Login
	srv                        *IMAPServer
}

func (s *imapSession) Login(username, password string) error {
	u, ok := s.srv.users[username]
	if !ok {
		return imapserver.ErrAuthFailed
	}
	if err := u.Login(username, password); err != nil {
		return err
	}
	s.UserSession = imapmemserver.NewUserSession(u)
	return nil
}

func (s *imapSession) Close() error {
	if s.UserSession == nil {
		return nil
	}
	return s.UserSession.Close()
}

func (s *imapSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	if err := s.UserSession.Poll(w, true); err != nil {
		return err
	}
	return s.UserSession.Idle(w, stop)
}
