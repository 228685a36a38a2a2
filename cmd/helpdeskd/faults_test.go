package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"

	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// runCommand runs the helpdeskd command as a child process and returns
// its exit status and combined output.
func runCommand(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "HELPDESKD_TEST_ARGS="+strings.Join(args, "\x1f"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), out.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, out.String()
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("helpdeskd %s did not exit:\n%s", strings.Join(args, " "), out.String())
	}
	return 0, ""
}

// validStore makes a helpdeskd database with a few hundred tickets, so
// that live pages fill the file (cutting only an unused tail is not
// damage), and returns its bytes.
func validStore(t *testing.T, path string) []byte {
	t.Helper()
	db, err := store.Open(path, store.Options{Logger: discardLog})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx ticket.Tx) error {
		for i := uint64(1); i <= 300; i++ {
			tk := &ticket.Ticket{ID: i, Case: ticket.FormatCase("HD", i), Subject: strings.Repeat("s", 500), State: ticket.StateNew, Created: time.Now()}
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		return nil
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunRefusesADamagedDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts helpdeskd processes")
	}
	random := make([]byte, 64<<10)
	rand.Read(random)
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"garbage", func(t *testing.T, path string) { os.WriteFile(path, random, 0o600) }},
		{"truncated_to_half", func(t *testing.T, path string) {
			b := validStore(t, path)
			os.WriteFile(path, b[:len(b)/2], 0o600)
		}},
		{"truncated_to_one_page", func(t *testing.T, path string) {
			b := validStore(t, path)
			os.WriteFile(path, b[:4096], 0o600)
		}},
		{"both_meta_pages_zeroed", func(t *testing.T, path string) {
			b := validStore(t, path)
			clear(b[:2*4096])
			os.WriteFile(path, b, 0o600)
		}},
		{"bbolt_file_of_another_program", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("theirs")); return err })
			db.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := shortTempDir(t)
			path := filepath.Join(dir, "helpdeskd.db")
			tt.damage(t, path)
			before := fileSum(t, path)
			cfg := filepath.Join(dir, "helpdeskd.yaml")
			os.WriteFile(cfg, []byte(fmt.Sprintf(`store:
  path: %s
support:
  address: support@example.com
imap:
  address: 127.0.0.1:1
  security: plain
  username: support@example.com
  password: x
smtp:
  address: 127.0.0.1:1
  security: plain
metrics:
  listen: ""
`, path)), 0o600)
			code, out := runCommand(t, "run", "-c", cfg)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			for _, want := range []string{
				"helpdeskd: open " + path + ": database file is corrupt",
				"has not changed it",
				"mv " + path + " " + path + ".damaged",
				"cp BACKUP " + path,
				"helpdeskd backup",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if fileSum(t, path) != before {
				t.Error("the damaged file was modified")
			}
			if _, err := os.Stat(filepath.Join(dir, "admin.sock")); !errors.Is(err, os.ErrNotExist) {
				t.Error("an admin socket was created for a daemon that refused to start")
			}
		})
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// bigMail is a customer mail with an incompressible body of n bytes, so
// that storing it needs new pages at the end of the database file.
func bigMail(i, n int) []byte {
	body := make([]byte, n*3/4)
	rand.Read(body)
	text := base64.StdEncoding.EncodeToString(body)
	var lines []string
	for len(text) > 76 {
		lines = append(lines, text[:76])
		text = text[76:]
	}
	lines = append(lines, text)
	return demoMail(fmt.Sprintf("c%d@customer%d.test", i, i), "Customer", fmt.Sprintf("Request %d", i),
		fmt.Sprintf("req%d@customer.test", i), nil, strings.Join(lines, "\n"))
}

// TestDiskFullStopsIntakeKeepsAdminAndRecovers fills the database's disk
// while the daemon runs: the batch that cannot be committed stays unseen
// in IMAP, the admin API goes on answering (and says why intake fails),
// and once space returns the mail is taken in and acknowledged once.
func TestDiskFullStopsIntakeKeepsAdminAndRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a daemon process")
	}
	type fault struct {
		dir   func(t *testing.T) string                     // where the store lives
		fill  func(t *testing.T, p *daemonProc, dir string) // make writes fail
		free  func(t *testing.T, p *daemonProc, dir string) // make room again
		cause string                                        // in the intake error
	}
	faults := map[string]fault{
		// A real full file system: a small tmpfs (root with CAP_SYS_ADMIN).
		"ENOSPC_on_a_full_tmpfs": {
			dir: func(t *testing.T) string {
				dir := shortTempDir(t)
				if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=8m,mode=0700"); err != nil {
					t.Skipf("cannot mount a tmpfs (%v); the RLIMIT_FSIZE case covers the same path", err)
				}
				t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
				return dir
			},
			fill: func(t *testing.T, _ *daemonProc, dir string) {
				f, err := os.Create(filepath.Join(dir, "filler"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				chunk := make([]byte, 64<<10)
				for {
					if _, err := f.Write(chunk); err != nil {
						if !errors.Is(err, syscall.ENOSPC) {
							t.Fatalf("filling the disk: %v", err)
						}
						return
					}
				}
			},
			free: func(t *testing.T, _ *daemonProc, dir string) {
				if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
					t.Fatal(err)
				}
			},
			cause: "no space left on device",
		},
		// Any user: the daemon process may not grow its files (EFBIG).
		"EFBIG_under_RLIMIT_FSIZE": {
			dir: shortTempDir,
			fill: func(t *testing.T, p *daemonProc, dir string) {
				fi, err := os.Stat(filepath.Join(dir, "helpdeskd.db"))
				if err != nil {
					t.Fatal(err)
				}
				lim := uint64(fi.Size()) + 256<<10 // room for the log, not for the big mail
				if err := unix.Prlimit(p.cmd.Process.Pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: lim, Max: unix.RLIM_INFINITY}, nil); err != nil {
					t.Skipf("prlimit: %v", err)
				}
			},
			free: func(t *testing.T, p *daemonProc, _ string) {
				if err := unix.Prlimit(p.cmd.Process.Pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}, nil); err != nil {
					t.Fatal(err)
				}
			},
			cause: "file too large",
		},
	}
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			e := newE2E(t)
			dir := f.dir(t)
			cfg := runConfig(t, e, dir, "")
			socket := filepath.Join(dir, "admin.sock")
			p := startRun(t, cfg)
			e.send(customerMail(1))
			e.waitFor("the first ack", func() bool { return len(e.sent()) == 1 })

			f.fill(t, p, dir)
			if err := e.stack.IMAP.Append(demoSupport, "INBOX", bigMail(2, 2<<20)); err != nil {
				t.Fatal(err)
			}
			if err := e.stack.IMAP.Append(demoSupport, "INBOX", customerMail(3)); err != nil {
				t.Fatal(err)
			}
			var st statusReply
			e.waitFor("intake to report the failing commit", func() bool {
				cliJSON(t, &st, "status", "--socket", socket)
				return st.Intake == "failing"
			})
			if !strings.Contains(st.IntakeError, f.cause) {
				t.Errorf("intake error %q does not say %q", st.IntakeError, f.cause)
			}
			// Admin still answers from the store.
			var rows []ticketRow
			cliJSON(t, &rows, "tickets", "list", "--socket", socket)
			if len(rows) != 1 {
				t.Errorf("%d tickets while the disk is full, want 1", len(rows))
			}
			msgs, _ := e.stack.IMAP.Messages(demoSupport, "INBOX")
			for _, m := range msgs[1:] {
				if m.HasFlag(`\Seen`) {
					t.Errorf("mail %d flagged \\Seen although it was not committed", m.UID)
				}
			}
			if len(e.sent()) != 1 {
				t.Errorf("acks sent for mail that was not committed")
			}

			f.free(t, p, dir)
			e.waitFor("the mail taken in after space returned", func() bool { return len(e.sent()) == 3 })
			assertOneAckEach(t, e, 3)
			e.waitFor("intake connected again", func() bool {
				cliJSON(t, &st, "status", "--socket", socket)
				return st.Intake == "connected"
			})
			if err := p.stop(); err != nil {
				t.Errorf("exit after SIGTERM: %v", err)
			}
		})
	}
}
