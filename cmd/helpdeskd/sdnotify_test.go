package main

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeSystemd is the receiving end of NOTIFY_SOCKET: a unixgram listener
// that hands each datagram to the test.
type fakeSystemd struct {
	conn *net.UnixConn
	path string
	msgs chan string
}

func listenNotify(t *testing.T) *fakeSystemd {
	t.Helper()
	path := filepath.Join(shortTempDir(t), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSystemd{conn: conn, path: path, msgs: make(chan string, 100)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(f.msgs)
				return
			}
			f.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { conn.Close() })
	return f
}

// next returns the next datagram, failing the test after a while.
func (f *fakeSystemd) next(t *testing.T) string {
	t.Helper()
	select {
	case m, ok := <-f.msgs:
		if !ok {
			t.Fatal("notify socket closed")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no notification from the daemon")
	}
	return ""
}

// shortTempDir is a temporary directory with a short path: unix socket
// paths are limited to 108 bytes, and t.TempDir() can be longer.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func TestNotifierSendsStatesToNotifySocket(t *testing.T) {
	sd := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sd.path)
	n := notifierFromEnv(quietLog)
	defer n.Close()
	if !n.enabled() {
		t.Fatal("notifier disabled with NOTIFY_SOCKET set")
	}
	if os.Getenv("NOTIFY_SOCKET") != "" {
		t.Error("NOTIFY_SOCKET still set: child processes would notify in our name")
	}
	n.ready("serving")
	got := sd.next(t)
	for _, want := range []string{"READY=1", "STATUS=serving", "MAINPID=" + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(got, want) {
			t.Errorf("ready datagram %q lacks %q", got, want)
		}
	}
	n.reloading()
	if got := sd.next(t); !strings.HasPrefix(got, "RELOADING=1\n") || !strings.Contains(got, "MONOTONIC_USEC=") {
		t.Errorf("reloading datagram = %q", got)
	}
	n.stopping()
	if got := sd.next(t); !strings.HasPrefix(got, "STOPPING=1\n") {
		t.Errorf("stopping datagram = %q", got)
	}
}

func TestNotifierWithoutSystemdIsSilent(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	n := notifierFromEnv(quietLog)
	if n.enabled() {
		t.Fatal("enabled without NOTIFY_SOCKET")
	}
	if err := n.ready("x"); err != nil {
		t.Errorf("ready without systemd: %v", err)
	}
}

func TestNotifierSurvivesSystemdGoingAway(t *testing.T) {
	dir := shortTempDir(t)
	t.Setenv("NOTIFY_SOCKET", filepath.Join(dir, "gone"))
	n := notifierFromEnv(quietLog)
	if err := n.ready("x"); err == nil {
		t.Fatal("notify to a missing socket reported success")
	}
}

func TestWatchdogInterval(t *testing.T) {
	tests := []struct {
		name    string
		usec    string
		pid     string
		want    time.Duration
		wantErr bool
	}{
		{name: "unset_means_no_watchdog"},
		{name: "half_of_the_timeout", usec: "30000000", want: 15 * time.Second},
		{name: "for_this_process", usec: "2000000", pid: strconv.Itoa(os.Getpid()), want: time.Second},
		{name: "for_another_process_is_ignored", usec: "2000000", pid: "1"},
		{name: "garbage_is_an_error", usec: "soon", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.pid)
			got, err := watchdogInterval()
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("watchdogInterval() = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestWatchdogPingsOnlyWhileHealthy(t *testing.T) {
	sd := listenNotify(t)
	t.Setenv("NOTIFY_SOCKET", sd.path)
	n := notifierFromEnv(quietLog)
	defer n.Close()
	// Each probe takes the next verdict from the test; a probe that gets
	// none within the interval has hung, which also counts as unhealthy.
	verdicts := make(chan error)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.watchdog(ctx, 5*time.Millisecond, func(pctx context.Context) error {
			select {
			case err := <-verdicts:
				return err
			case <-pctx.Done():
				return pctx.Err()
			}
		})
	}()
	for _, v := range []error{nil, errors.New("wedged"), errors.New("wedged"), nil} {
		verdicts <- v
	}
	cancel()
	<-done
	n.notify("MARK=1") // datagrams arrive in order: everything before it is in
	pings := 0
	for m := sd.next(t); m != "MARK=1"; m = sd.next(t) {
		if m != "WATCHDOG=1" {
			t.Fatalf("unexpected datagram %q", m)
		}
		pings++
	}
	if pings != 2 {
		t.Errorf("%d keep-alives for 2 healthy probes among failing and hung ones", pings)
	}
}
