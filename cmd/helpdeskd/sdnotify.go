package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// systemd's notification protocol (sd_notify(3)) is one datagram of
// newline-separated KEY=VALUE lines to the unix socket named by
// $NOTIFY_SOCKET: a path, or an abstract socket when it starts with '@'.
// It is small enough to speak directly rather than through a library.

// notifier sends state changes to systemd. The zero notifier (no
// NOTIFY_SOCKET: not started by systemd, or Type= is not notify) does
// nothing, so callers never check whether they run under systemd.
type notifier struct {
	addr *net.UnixAddr // nil: disabled
	log  *slog.Logger

	mu   sync.Mutex // one datagram at a time, in order
	conn *net.UnixConn
}

// notifierFromEnv reads NOTIFY_SOCKET. Like sd_notify with
// unset_environment, it removes the variable so that processes we start
// (none today) do not talk to systemd in our name.
func notifierFromEnv(log *slog.Logger) *notifier {
	n := &notifier{log: log}
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return n
	}
	os.Unsetenv("NOTIFY_SOCKET")
	if !strings.HasPrefix(path, "/") && !strings.HasPrefix(path, "@") {
		log.Warn("NOTIFY_SOCKET is neither a path nor an abstract socket; not notifying systemd", "notify_socket", path)
		return n
	}
	// Go's net package maps a leading '@' to the abstract namespace.
	n.addr = &net.UnixAddr{Name: path, Net: "unixgram"}
	return n
}

// enabled reports whether systemd is listening.
func (n *notifier) enabled() bool { return n != nil && n.addr != nil }

// notify sends state lines such as "READY=1", "STATUS=…". Failures are
// logged, never fatal: the daemon works without systemd's bookkeeping,
// and with Type=notify systemd itself reports a missing READY.
func (n *notifier) notify(lines ...string) error {
	if !n.enabled() {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		c, err := net.DialUnix("unixgram", nil, n.addr)
		if err != nil {
			n.log.Warn("systemd notification failed", "notify_socket", n.addr.Name, "err", err)
			return fmt.Errorf("sd_notify: %w", err)
		}
		n.conn = c
	}
	msg := strings.Join(lines, "\n")
	if _, err := n.conn.Write([]byte(msg)); err != nil {
		// systemd may have been re-executed: dial afresh next time.
		n.conn.Close()
		n.conn = nil
		n.log.Warn("systemd notification failed", "notify_socket", n.addr.Name, "state", msg, "err", err)
		return fmt.Errorf("sd_notify: %w", err)
	}
	return nil
}

// ready tells systemd the daemon is up: the store is open, the
// configuration valid and the admin socket listening.
func (n *notifier) ready(status string) error {
	return n.notify("READY=1", "STATUS="+status, "MAINPID="+strconv.Itoa(os.Getpid()))
}

// reloading starts a reload; ready ends it. MONOTONIC_USEC is what
// Type=notify-reload (systemd ≥ 253) requires; older systemd ignores it.
func (n *notifier) reloading() error {
	return n.notify("RELOADING=1", "STATUS=reloading configuration", "MONOTONIC_USEC="+strconv.FormatInt(monotonicUsec(), 10))
}

// stopping tells systemd the daemon is shutting down on purpose.
func (n *notifier) stopping() error {
	return n.notify("STOPPING=1", "STATUS=shutting down: draining intake and outbox")
}

func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano() / 1000
}

// Close releases the socket.
func (n *notifier) Close() error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return nil
	}
	err := n.conn.Close()
	n.conn = nil
	return err
}

// watchdogInterval reads WATCHDOG_USEC (and WATCHDOG_PID, which names the
// process meant when set) and returns half of the timeout: systemd's
// advice for how often to send WATCHDOG=1. Zero means no watchdog.
func watchdogInterval() (time.Duration, error) {
	s := os.Getenv("WATCHDOG_USEC")
	if s == "" {
		return 0, nil
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, nil // meant for another process (we were started by it)
	}
	us, err := strconv.ParseInt(s, 10, 64)
	if err != nil || us <= 0 {
		return 0, fmt.Errorf("WATCHDOG_USEC=%q is not a positive number of microseconds", s)
	}
	return time.Duration(us) * time.Microsecond / 2, nil
}

// errUnhealthy is what a watchdog probe returns to skip a keep-alive.
var errUnhealthy = errors.New("unhealthy")

// watchdog sends WATCHDOG=1 every interval while probe succeeds, until ctx
// is done. A probe that fails (or hangs past the interval) skips the
// keep-alive, so systemd restarts a daemon that is wedged rather than
// merely alive.
func (n *notifier) watchdog(ctx context.Context, interval time.Duration, probe func(context.Context) error) {
	if !n.enabled() || interval <= 0 {
		return
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, interval)
		err := probe(pctx)
		cancel()
		if err == nil {
			n.notify("WATCHDOG=1")
		} else if ctx.Err() == nil {
			n.log.Error("watchdog probe failed; not keeping systemd's watchdog alive", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
