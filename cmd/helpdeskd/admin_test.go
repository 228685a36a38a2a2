package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// With HELPDESKD_TEST_ARGS set, the test binary is the helpdeskd command
// itself: the arguments (separated by \x1f) run through the same root
// command and exit path as main. This runs before TestMain, so the tests
// can start `helpdeskd run` as a real process — signals, exit status,
// NOTIFY_SOCKET and all — without building the binary.
func init() {
	args, ok := os.LookupEnv("HELPDESKD_TEST_ARGS")
	if !ok {
		return
	}
	root := newRootCmd()
	root.SetArgs(strings.Split(args, "\x1f"))
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "helpdeskd:", err)
		os.Exit(exitCode(err))
	}
	os.Exit(0)
}

// cli runs a helpdeskd command in this process and returns its output.
func cli(args ...string) (string, error) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// mustCLI is cli that fails the test on an error.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cli(args...)
	if err != nil {
		t.Fatalf("helpdeskd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// cliJSON runs a command with --json and decodes its output.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out := mustCLI(t, append(args, "--json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("helpdeskd %s --json: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// runConfig writes a configuration for `helpdeskd run` against e's mail
// stack, with the store and admin socket in dir; extra is appended.
func runConfig(t *testing.T, e *e2e, dir, extra string) string {
	t.Helper()
	cfg := fmt.Sprintf(`store:
  path: %s
support:
  address: %s
  name: Support
imap:
  address: %s
  security: plain
  username: %s
  password: %s
  poll_interval: 200ms
  command_timeout: 5s
smtp:
  address: %s
  security: plain
  retry_min: 50ms
  retry_max: 200ms
metrics:
  listen: ""
log:
  level: debug
`, filepath.Join(dir, "helpdeskd.db"), demoSupport, e.stack.IMAP.Addr(), demoSupport, demoPassword, e.stack.SMTP.Addr()) + extra
	p := filepath.Join(dir, "helpdeskd.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// daemonProc is `helpdeskd run` as a child process.
type daemonProc struct {
	t       *testing.T
	cmd     *exec.Cmd
	log     string
	sd      *fakeSystemd
	done    chan struct{}
	waitErr error
}

// startRun starts `helpdeskd run -c cfg` with a NOTIFY_SOCKET of its
// own and waits for READY=1. Its log goes to a file (a pipe would keep
// Wait from returning if the daemon ever left a child behind), printed
// when the test fails.
func startRun(t *testing.T, cfg string, env ...string) *daemonProc {
	t.Helper()
	sd := listenNotify(t)
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HELPDESKD_TEST_ARGS="+strings.Join([]string{"run", "-c", cfg}, "\x1f"), "NOTIFY_SOCKET="+sd.path)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	p := &daemonProc{t: t, cmd: cmd, log: logPath, sd: sd, done: make(chan struct{})}
	go func() { p.waitErr = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("daemon log:\n%s", b)
		}
	})
	select {
	case <-waitDatagram(sd, "READY=1"):
	case <-p.done:
		b, _ := os.ReadFile(logPath)
		t.Fatalf("daemon exited before READY=1: %v\n%s", p.waitErr, b)
	case <-time.After(20 * time.Second):
		t.Fatal("no READY=1 from the daemon")
	}
	return p
}

// waitDatagram closes the returned channel when a datagram with line
// arrives.
func waitDatagram(sd *fakeSystemd, line string) <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		for m := range sd.msgs {
			for _, l := range strings.Split(m, "\n") {
				if l == line {
					close(ch)
					return
				}
			}
		}
	}()
	return ch
}

// stop sends SIGTERM and returns the exit error (nil for status 0).
func (p *daemonProc) stop() error {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.waitErr
	case <-time.After(30 * time.Second):
		p.t.Fatal("daemon did not stop within 30s of SIGTERM")
	}
	return nil
}

func (p *daemonProc) logText() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func TestAdminCLIAgainstRunningDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon process")
	}
	e := newE2E(t)
	dir := shortTempDir(t)
	cfg := runConfig(t, e, dir, "")
	socket := filepath.Join(dir, "admin.sock")
	p := startRun(t, cfg)

	fi, err := os.Stat(socket)
	if err != nil {
		t.Fatalf("no admin socket beside the store: %v", err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin socket mode = %v, want a socket with 0600", fi.Mode())
	}

	e.send(demoMail(demoCustomer, "Alice", "VPN down", "v1@customer.test", nil, "The VPN is down since 9:00."))
	e.send(customerMail(2))
	e.send(demoMail("bob@customer.test", "Bob", "Automatic reply: away", "ooo@customer.test", []string{"Auto-Submitted: auto-replied"}, "Away."))
	e.waitFor("two acks", func() bool { return len(e.sent()) == 2 })
	// The auto-reply gets no ack to wait for: wait for its ticket.
	e.waitFor("three tickets", func() bool {
		out, err := cli("tickets", "list", "--socket", socket, "--json")
		var rows []ticketRow
		return err == nil && json.Unmarshal([]byte(out), &rows) == nil && len(rows) == 3
	})

	t.Run("status", func(t *testing.T) {
		out := mustCLI(t, "status", "-c", cfg)
		for _, want := range []string{"pid " + fmt.Sprint(p.cmd.Process.Pid), filepath.Join(dir, "helpdeskd.db"), "intake", "outbox"} {
			if !strings.Contains(out, want) {
				t.Errorf("status lacks %q:\n%s", want, out)
			}
		}
	})

	var rows []ticketRow
	t.Run("tickets_list", func(t *testing.T) {
		out := mustCLI(t, "tickets", "list", "-c", cfg)
		if !strings.Contains(out, "HD-000001") || !strings.Contains(out, "VPN down") || !strings.Contains(out, "3 tickets") {
			t.Errorf("tickets list:\n%s", out)
		}
		cliJSON(t, &rows, "tickets", "list", "--socket", socket)
		if len(rows) != 3 || rows[0].Case != "HD-000001" || rows[0].Customer != demoCustomer {
			t.Fatalf("tickets list --json = %+v", rows)
		}
		var bob []ticketRow
		cliJSON(t, &bob, "tickets", "list", "--socket", socket, "--customer", "bob@customer.test")
		if len(bob) != 1 || bob[0].Customer != "bob@customer.test" {
			t.Errorf("--customer bob@customer.test = %+v", bob)
		}
		var dom []ticketRow
		cliJSON(t, &dom, "tickets", "list", "--socket", socket, "--customer", "customer.test", "--state", "new")
		if len(dom) != 2 {
			t.Errorf("--customer customer.test --state new = %d tickets, want 2 (alice, bob)", len(dom))
		}
		if _, err := cli("tickets", "list", "--socket", socket, "--state", "frozen"); err == nil || !strings.Contains(err.Error(), "frozen") {
			t.Errorf("--state frozen: %v", err)
		}
	})

	t.Run("tickets_show", func(t *testing.T) {
		out := mustCLI(t, "tickets", "show", "[#HD-000001]", "-c", cfg)
		for _, want := range []string{"Case:         HD-000001", "VPN down", demoCustomer, "The VPN is down since 9:00.", "Events:", "Deadlines:"} {
			if !strings.Contains(out, want) {
				t.Errorf("tickets show lacks %q:\n%s", want, out)
			}
		}
		var det ticketDetail
		cliJSON(t, &det, "tickets", "show", "1", "--socket", socket)
		if det.Ticket == nil || det.Ticket.Case != "HD-000001" || len(det.Messages) == 0 || len(det.Ticket.Events) == 0 {
			t.Errorf("tickets show --json = %+v", det)
		}
		if _, err := cli("tickets", "show", "HD-000099", "--socket", socket); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Errorf("show of a missing case: %v", err)
		}
	})

	t.Run("outbox_list_empty_after_delivery", func(t *testing.T) {
		e.waitFor("outbox empty", func() bool {
			var out []outboxRow
			cliJSON(t, &out, "outbox", "list", "--socket", socket)
			return len(out) == 0
		})
		if out := mustCLI(t, "outbox", "list", "--socket", socket); !strings.Contains(out, "outbox is empty") {
			t.Errorf("outbox list: %s", out)
		}
	})

	t.Run("backup_online_then_read_offline", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "backup.db")
		out := mustCLI(t, "backup", file, "--socket", socket)
		if !strings.Contains(out, "verified") {
			t.Errorf("backup said %q", out)
		}
		var offline []ticketRow
		cliJSON(t, &offline, "tickets", "list", "--file", file)
		if len(offline) != len(rows) || offline[0].Case != rows[0].Case || offline[2].Customer != rows[2].Customer {
			t.Errorf("tickets from the backup %+v differ from the daemon's %+v", offline, rows)
		}
		if _, err := os.Stat(file + ".tmp"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("backup left its temporary file: %v", err)
		}
		live := filepath.Join(dir, "helpdeskd.db")
		if _, err := cli("backup", live, "--socket", socket); err == nil || !strings.Contains(err.Error(), "live database") {
			t.Errorf("backup over the live database: %v", err)
		}
		if _, err := cli("tickets", "list", "--file", live); err == nil || !strings.Contains(err.Error(), "leave out --file") {
			t.Errorf("--file on the live database: %v", err)
		}
	})

	t.Run("sighup_applies_a_valid_config", func(t *testing.T) {
		// A new case prefix shows in the next acknowledgement; a new retry
		// setting restarts the sender.
		runConfig(t, e, dir, "")
		raw, _ := os.ReadFile(cfg)
		next := strings.Replace(string(raw), "  name: Support\n", "  name: Support\n  case_prefix: XY\n", 1)
		next = strings.Replace(next, "retry_min: 50ms", "retry_min: 60ms", 1)
		os.WriteFile(cfg, []byte(next), 0o600)
		reloaded := waitDatagram(p.sd, "RELOADING=1")
		p.cmd.Process.Signal(syscall.SIGHUP)
		select {
		case <-reloaded:
		case <-time.After(10 * time.Second):
			t.Fatal("no RELOADING=1 after SIGHUP")
		}
		e.waitFor("the reload to be recorded", func() bool {
			var st statusReply
			cliJSON(t, &st, "status", "--socket", socket)
			return !st.LastReload.IsZero() && st.ReloadError == ""
		})
		e.send(customerMail(4))
		e.waitFor("an ack with the new prefix", func() bool {
			for _, m := range e.sent() {
				if strings.Contains(m.subject, "[#XY-000004]") {
					return true
				}
			}
			return false
		})
		if !strings.Contains(p.logText(), `restarted=[sender]`) {
			t.Errorf("the log does not show the sender restarted")
		}
	})

	t.Run("invalid_config_is_rejected_and_the_old_one_stays", func(t *testing.T) {
		raw, _ := os.ReadFile(cfg)
		broken := strings.Replace(string(raw), "  case_prefix: XY\n", "  case_prefix: xy\n  colour: blue\n", 1)
		os.WriteFile(cfg, []byte(broken), 0o600)
		out, err := cli("reload", "--socket", socket)
		if err == nil {
			t.Fatalf("reload of a broken config succeeded: %s", out)
		}
		for _, want := range []string{"support.colour: unknown key", "keeps its previous configuration"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("reload error lacks %q:\n%v", want, err)
			}
		}
		p.cmd.Process.Signal(syscall.SIGHUP)
		e.waitFor("the rejection in the log", func() bool {
			return strings.Count(p.logText(), "configuration reload rejected") >= 2
		})
		if !strings.Contains(p.logText(), `problem="support.colour: unknown key`) {
			t.Errorf("the log does not name the problem:\n%s", p.logText())
		}
		var st statusReply
		cliJSON(t, &st, "status", "--socket", socket)
		if !strings.Contains(st.ReloadError, "colour") {
			t.Errorf("status reload_error = %q", st.ReloadError)
		}
		e.send(customerMail(5))
		e.waitFor("an ack still with the previous prefix", func() bool {
			for _, m := range e.sent() {
				if strings.Contains(m.subject, "[#XY-000005]") {
					return true
				}
			}
			return false
		})
	})

	t.Run("sigterm_stops_cleanly", func(t *testing.T) {
		stopping := waitDatagram(p.sd, "STOPPING=1")
		if err := p.stop(); err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
		select {
		case <-stopping:
		case <-time.After(time.Second):
			t.Error("no STOPPING=1 before exit")
		}
		if _, err := os.Stat(socket); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("admin socket left behind: %v", err)
		}
		// The broken configuration still names the socket.
		_, err := cli("tickets", "list", "-c", cfg)
		want := "helpdeskd is not running (no admin socket at " + socket + ")"
		if err == nil || err.Error() != want || exitCode(err) != exitNotRunning {
			t.Errorf("with the daemon stopped: %v (exit %d), want %q (exit %d)", err, exitCode(err), want, exitNotRunning)
		}
		// The stopped daemon's own file can be read directly.
		var offline []ticketRow
		cliJSON(t, &offline, "tickets", "list", "--file", filepath.Join(dir, "helpdeskd.db"))
		if len(offline) != 5 {
			t.Errorf("%d tickets in the stopped daemon's file, want 5", len(offline))
		}
	})
}

// adminDaemon runs an in-process daemon with an admin socket.
func adminDaemon(t *testing.T, e *e2e, admin adminOptions) (*daemon, func()) {
	t.Helper()
	o := e.options()
	o.StorePath = filepath.Join(shortTempDir(t), "helpdeskd.db")
	if admin.Socket == "" {
		admin.Socket = filepath.Join(filepath.Dir(o.StorePath), "admin.sock")
	}
	o.Admin = admin
	d, err := newDaemon(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}
	t.Cleanup(stop)
	return d, stop
}

func TestOutboxListAndRetryThroughAdmin(t *testing.T) {
	e := newE2E(t)
	e.stack.SMTP.RejectRecipient("c1@customer1.test", 550, "no such user here")
	d, _ := adminDaemon(t, e, adminOptions{})
	socket := d.admin.socket
	e.send(customerMail(1))

	var rows []outboxRow
	e.waitFor("the ack given up on", func() bool {
		cliJSON(t, &rows, "outbox", "list", "--socket", socket)
		return len(rows) == 1 && rows[0].State == "failed"
	})
	if r := rows[0]; r.Purpose != "ack" || r.Case != "HD-000001" || !strings.Contains(r.LastError, "550") || r.Attempts != 1 {
		t.Errorf("failed row = %+v", r)
	}
	out := mustCLI(t, "outbox", "list", "--socket", socket)
	if !strings.Contains(out, "failed") || !strings.Contains(out, "no such user here") {
		t.Errorf("outbox list:\n%s", out)
	}

	e.stack.SMTP.RejectRecipient("c1@customer1.test", 0, "")
	out = mustCLI(t, "outbox", "retry", fmt.Sprint(rows[0].ID), "--socket", socket)
	if !strings.Contains(out, "due now") {
		t.Errorf("outbox retry said %q", out)
	}
	e.waitFor("the retried ack delivered", func() bool { return len(e.sent()) == 1 })
	e.waitFor("the outbox empty", func() bool {
		cliJSON(t, &rows, "outbox", "list", "--socket", socket)
		return len(rows) == 0
	})
	if _, err := cli("outbox", "retry", "999", "--socket", socket); err == nil || !strings.Contains(err.Error(), "no mail 999 in the outbox") {
		t.Errorf("retry of an unknown ID: %v", err)
	}
	if _, err := cli("outbox", "retry", "abc", "--socket", socket); err == nil || !strings.Contains(err.Error(), "not an outbox ID") {
		t.Errorf("retry of a non-number: %v", err)
	}
}

func TestBackupIsConsistentWhileMailFlows(t *testing.T) {
	e := newE2E(t)
	d, _ := adminDaemon(t, e, adminOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sent := make(chan int, 1)
	go func() {
		n := 0
		for ctx.Err() == nil && n < 200 {
			n++
			if err := e.stack.IMAP.Append(demoSupport, "INBOX", customerMail(n)); err != nil {
				break
			}
		}
		sent <- n
	}()
	dir := t.TempDir()
	for i := range 5 {
		file := filepath.Join(dir, fmt.Sprintf("b%d.db", i))
		mustCLI(t, "backup", file, "--socket", d.admin.socket)
		db, err := openOffline(file)
		if err != nil {
			t.Fatalf("backup %d does not open: %v", i, err)
		}
		// Consistent: every ticket's mail, thread and dedupe entries are
		// there, and the case sequence is past every ticket.
		err = db.View(func(tx ticket.Tx) error {
			return tx.ForEachTicket(func(tk *ticket.Ticket) error {
				entries, err := tx.Entries(tk.ID)
				if err != nil || len(entries) == 0 {
					return fmt.Errorf("ticket %s without messages: %v", tk.Case, err)
				}
				return nil
			})
		})
		db.Close()
		if err != nil {
			t.Errorf("backup %d: %v", i, err)
		}
	}
	cancel()
	<-sent
}

func TestAdminOverTCPNeedsTheToken(t *testing.T) {
	e := newE2E(t)
	token := "0123456789abcdef0123"
	d, _ := adminDaemon(t, e, adminOptions{Listen: "127.0.0.1:0", Token: token})
	addr := d.admin.lns[1].Addr().String()

	for _, auth := range []string{"", "Bearer wrong-token-0000000", "Basic " + token} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/v1/tickets", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, resp.StatusCode)
		}
	}
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte(token+"\n"), 0o600)
	out := mustCLI(t, "tickets", "list", "--addr", addr, "--token-file", tokFile)
	if !strings.Contains(out, "no tickets") {
		t.Errorf("tickets list over TCP: %s", out)
	}
	// The unix socket needs no token: its mode is the check.
	mustCLI(t, "status", "--socket", d.admin.socket)
}

func TestAdminSocketFile(t *testing.T) {
	t.Run("stale_socket_of_a_dead_daemon_is_replaced", func(t *testing.T) {
		path := filepath.Join(shortTempDir(t), "admin.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close()
		ln, err = listenUnixPrivate(path)
		if err != nil {
			t.Fatalf("stale socket not replaced: %v", err)
		}
		ln.Close()
	})
	t.Run("live_socket_is_refused", func(t *testing.T) {
		path := filepath.Join(shortTempDir(t), "admin.sock")
		ln, err := listenUnixPrivate(path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		if _, err := listenUnixPrivate(path); !errors.Is(err, errAdminSocketInUse) {
			t.Errorf("second listener: %v, want errAdminSocketInUse", err)
		}
	})
	t.Run("other_file_is_left_alone", func(t *testing.T) {
		path := filepath.Join(shortTempDir(t), "admin.sock")
		os.WriteFile(path, []byte("keep me"), 0o600)
		if _, err := listenUnixPrivate(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
			t.Errorf("listen over a regular file: %v", err)
		}
		if b, _ := os.ReadFile(path); string(b) != "keep me" {
			t.Error("the file was changed")
		}
	})
}

func TestAdminClientErrors(t *testing.T) {
	dir := shortTempDir(t)
	t.Run("no_socket", func(t *testing.T) {
		_, err := cli("status", "--socket", filepath.Join(dir, "none.sock"))
		if err == nil || !strings.Contains(err.Error(), "helpdeskd is not running (no admin socket at ") || exitCode(err) != exitNotRunning {
			t.Errorf("err = %v, exit %d", err, exitCode(err))
		}
	})
	t.Run("stale_socket", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		ln.Close()
		_, err = cli("status", "--socket", path)
		if err == nil || !strings.Contains(err.Error(), "nothing listens on the admin socket") || exitCode(err) != exitNotRunning {
			t.Errorf("err = %v, exit %d", err, exitCode(err))
		}
	})
	t.Run("socket_from_the_configuration", func(t *testing.T) {
		cfg := filepath.Join(dir, "c.yaml")
		os.WriteFile(cfg, []byte("store:\n  path: "+filepath.Join(dir, "data", "h.db")+"\n"), 0o600)
		_, err := cli("tickets", "list", "-c", cfg)
		want := "no admin socket at " + filepath.Join(dir, "data", "admin.sock")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to name %s", err, want)
		}
	})
	t.Run("unreadable_configuration", func(t *testing.T) {
		_, err := cli("tickets", "list", "-c", filepath.Join(dir, "missing.yaml"))
		if err == nil || !strings.Contains(err.Error(), "--socket PATH") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("offline_file_missing", func(t *testing.T) {
		missing := filepath.Join(dir, "missing.db")
		_, err := cli("tickets", "list", "--file", missing)
		if err == nil || !strings.Contains(err.Error(), "no such database file") {
			t.Errorf("err = %v", err)
		}
		if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
			t.Error("--file created the missing database")
		}
	})
}

func TestParseCaseRef(t *testing.T) {
	tests := []struct {
		ref  string
		want uint64
	}{
		{"HD-000042", 42}, {"[#HD-000042]", 42}, {"#HD-000042", 42}, {"42", 42}, {" XY-7 ", 7},
		{"HD-", 0}, {"", 0}, {"HD-0", 0}, {"abc", 0}, {"HD-12x", 0},
	}
	for _, tt := range tests {
		got, err := parseCaseRef(tt.ref)
		if got != tt.want || (err != nil) != (tt.want == 0) {
			t.Errorf("parseCaseRef(%q) = %d, %v; want %d", tt.ref, got, err, tt.want)
		}
	}
}

func TestTicketFilter(t *testing.T) {
	tk := &ticket.Ticket{Customer: "alice@example.com", State: ticket.StateOpen}
	tests := []struct {
		name string
		f    ticketFilter
		want bool
	}{
		{"empty_matches", ticketFilter{}, true},
		{"state", ticketFilter{State: ticket.StateOpen}, true},
		{"other_state", ticketFilter{State: ticket.StateClosed}, false},
		{"address_any_case", ticketFilter{Customer: "Alice@Example.com"}, true},
		{"other_address", ticketFilter{Customer: "bob@example.com"}, false},
		{"domain", ticketFilter{Customer: "example.com"}, true},
		{"at_domain", ticketFilter{Customer: "@example.com"}, true},
		{"domain_suffix_is_not_the_domain", ticketFilter{Customer: "ample.com"}, false},
		{"breached_without_sla", ticketFilter{Breached: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.match(tk, time.Now()); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
	breachedTk := &ticket.Ticket{Customer: "a@b.c", SLA: &ticket.SLAState{Clocks: []*ticket.Clock{{Breached: time.Now()}}}}
	if !(ticketFilter{Breached: true}).match(breachedTk, time.Now()) {
		t.Error("a ticket with a breached clock does not match --breached")
	}
}

func TestReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db, err := store.Open(path, store.Options{Logger: discardLog})
	if err != nil {
		t.Fatal(err)
	}
	day := func(d, h int) time.Time { return time.Date(2025, 3, d, h, 0, 0, 0, time.Local) }
	clock := func(p, target string, start, due, met, breached time.Time) *ticket.Clock {
		return &ticket.Clock{Promise: sla.Promise(p), Target: target, Start: start, Due: due, Met: met, Breached: breached, Since: start}
	}
	var zero time.Time
	tickets := []*ticket.Ticket{
		{ID: 1, Case: "HD-000001", Customer: "a@example.com", Subject: "Kept", Priority: 2, State: ticket.StateResolved, Created: day(3, 9),
			SLA: &ticket.SLAState{Plan: "gold", Clocks: []*ticket.Clock{
				clock("first-response", "4h", day(3, 9), day(3, 13), day(3, 10), zero),
				clock("resolution", "3bd", day(3, 9), day(6, 9), day(4, 9), zero)}}},
		{ID: 2, Case: "HD-000002", Customer: "b@example.com", Subject: "Late", Priority: 1, State: ticket.StateOpen, Created: day(10, 9),
			SLA: &ticket.SLAState{Plan: "gold", Clocks: []*ticket.Clock{
				clock("first-response", "4h", day(10, 9), day(10, 13), day(10, 15), day(10, 13))}}},
		{ID: 3, Case: "HD-000003", Customer: "c@other.org", Subject: "Other customer", Priority: 3, State: ticket.StateNew, Created: day(11, 9)},
		{ID: 4, Case: "HD-000004", Customer: "a@example.com", Subject: "Next year", Priority: 3, State: ticket.StateNew, Created: time.Date(2026, 1, 2, 9, 0, 0, 0, time.Local)},
	}
	err = db.Update(func(tx ticket.Tx) error {
		for _, tk := range tickets {
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		return nil
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}

	var rep report
	cliJSON(t, &rep, "report", "--file", path, "--customer", "example.com", "--from", "2025-01-01", "--to", "2026-01-01")
	if len(rep.Rows) != 2 || rep.Rows[0].Case != "HD-000001" || rep.Rows[1].Case != "HD-000002" {
		t.Fatalf("report rows = %+v", rep.Rows)
	}
	s := rep.Summary
	if s.Cases != 2 || s.Resolved != 1 || s.WithBreach != 1 || s.FirstResponse.Kept != 1 || s.FirstResponse.Late != 1 || s.Resolution.Kept != 1 {
		t.Errorf("summary = %+v", s)
	}
	if got := rep.Rows[0].Promises[0]; got.Verdict != "kept" || got.Took != time.Hour {
		t.Errorf("first promise of HD-000001 = %+v", got)
	}
	if got := rep.Rows[1].Promises[0]; got.Verdict != "late" || rep.Rows[1].Breaches != 1 {
		t.Errorf("first promise of HD-000002 = %+v", got)
	}

	text := mustCLI(t, "report", "--file", path, "--customer", "example.com", "--from", "2025-01-01", "--to", "2026-01-01")
	for _, want := range []string{"Case report for example.com, 2025-01-01 to 2026-01-01 (exclusive)", "1h0m0s/4h kept", "6h0m0s/4h late",
		"2 cases", "first response: 1 kept, 1 late, 0 breached, 0 open; kept 50% of those met"} {
		if !strings.Contains(text, want) {
			t.Errorf("report text lacks %q:\n%s", want, text)
		}
	}
	csvOut := mustCLI(t, "report", "--file", path, "--csv")
	lines := strings.Split(strings.TrimSpace(csvOut), "\n")
	// Header, 3 promises of HD-1/HD-2, one line each for HD-3 and HD-4.
	if len(lines) != 6 || !strings.HasPrefix(lines[0], "case,created,customer") || !strings.Contains(csvOut, "HD-000002,") || !strings.Contains(csvOut, ",first-response,4h,60.0,kept") {
		t.Errorf("CSV:\n%s", csvOut)
	}
	if _, err := cli("report", "--file", path, "--from", "March"); err == nil || !strings.Contains(err.Error(), "not a date") {
		t.Errorf("bad --from: %v", err)
	}
}

func TestReportThroughTheDaemon(t *testing.T) {
	e := newE2E(t)
	d, _ := adminDaemon(t, e, adminOptions{})
	e.send(customerMail(1))
	e.waitFor("the ack", func() bool { return len(e.sent()) == 1 })
	var rep report
	cliJSON(t, &rep, "report", "--socket", d.admin.socket, "--customer", "customer1.test", "--from", time.Now().AddDate(0, 0, -1).Format(time.DateOnly))
	if rep.Summary.Cases != 1 || rep.Rows[0].Customer != "c1@customer1.test" {
		t.Errorf("report from the daemon = %+v", rep)
	}
}

func TestTicketsShowDeadlinesOffline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	db, err := store.Open(path, store.Options{Logger: discardLog})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2025, 3, 3, 9, 0, 0, 0, time.Local)
	tk := &ticket.Ticket{ID: 7, Case: "HD-000007", Customer: "a@example.com", Subject: "Down", Priority: 1, State: ticket.StateOpen, Created: start,
		SLA: &ticket.SLAState{Plan: "gold", Clocks: []*ticket.Clock{
			{Promise: sla.PromiseFirstResponse, Target: "1h", Start: start, Since: start, Due: start.Add(time.Hour), WarnAt: start.Add(45 * time.Minute), Met: start.Add(30 * time.Minute)},
			{Promise: sla.PromiseResolution, Target: "8h", Start: start, Since: start, Due: start.Add(8 * time.Hour), WarnAt: start.Add(6 * time.Hour)},
		}}}
	err = db.Update(func(tx ticket.Tx) error {
		if err := tx.PutTicket(tk); err != nil {
			return err
		}
		return tx.SetDeadline(ticket.Deadline{At: start.Add(6 * time.Hour), TicketID: 7, Kind: ticket.DeadlineWarn})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, "tickets", "show", "HD-000007", "--file", path)
	for _, want := range []string{
		"first-response  1h     met       at 2025-03-03 09:30",
		"resolution      8h     running   due 2025-03-03 17:00, warning at 2025-03-03 15:00",
		"next SLA event: warn at 2025-03-03 15:00",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("tickets show lacks %q:\n%s", want, out)
		}
	}
	var rows []ticketRow
	cliJSON(t, &rows, "tickets", "list", "--file", path)
	if len(rows) != 1 || !rows[0].NextDue.Equal(start.Add(8*time.Hour)) || rows[0].Breached {
		t.Errorf("tickets list = %+v", rows)
	}
}
