package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
)

func TestNotifyCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HELPDESKD_IMAP_PASSWORD", "x")
	t.Setenv("HELPDESKD_STORE_PATH", filepath.Join(dir, "hd.db"))
	body := filepath.Join(dir, "notice.txt")
	if err := os.WriteFile(body, []byte("The portal is down for maintenance.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := notifyFlags{config: "../../config.example.yaml", all: true, subject: "Maintenance Saturday", bodyFile: body, dryRun: true}
	var out bytes.Buffer
	if err := runNotify(&out, f, time.Now()); err != nil {
		t.Fatal(err)
	}
	if out.String() != "telekompetanse.no (Telekompetanse): drift@telekompetanse.no\n" {
		t.Errorf("--all --dry-run listed %q, want the one agreement with contacts", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "hd.db")); err == nil {
		t.Error("--dry-run created the database")
	}

	out.Reset()
	f.dryRun = false
	if err := runNotify(&out, f, time.Now()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "queued HD-000001 to telekompetanse.no (Telekompetanse)") {
		t.Errorf("notify printed %q", out.String())
	}
	db, err := openOffline(filepath.Join(dir, "hd.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var to []string
	_ = db.Outbox(func(env mailer.Envelope, _ bool) error {
		if env.Purpose == "notice" {
			to = append(to, strings.Join(env.To, ","))
		}
		return nil
	})
	if strings.Join(to, ";") != "drift@telekompetanse.no" {
		t.Errorf("notice mails to %v, want one to drift@telekompetanse.no", to)
	}

	for _, tc := range []struct {
		f    notifyFlags
		want string
	}{
		{notifyFlags{config: f.config, subject: "s", bodyFile: body}, "one --agreement, or --all"},
		{notifyFlags{config: f.config, agreement: "Jotron", subject: "s", bodyFile: body, dryRun: true}, "has no contacts"},
		{notifyFlags{config: f.config, agreement: "Jotron", bodyFile: body}, "--subject and --body-file are required"},
	} {
		if err := runNotify(&out, tc.f, time.Now()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err = %v, want one saying %q", tc.f, err, tc.want)
		}
	}
}

// A notice text customers could not read is refused before anything is
// queued: a file saved as Latin-1, or the wrong file altogether.
func TestNotifyRefusesUnreadableText(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("HELPDESKD_IMAP_PASSWORD", "x")
	t.Setenv("HELPDESKD_STORE_PATH", filepath.Join(dir, "hd.db"))
	for _, tc := range []struct {
		name, want string
		body       []byte
	}{
		{"latin1", "not UTF-8", []byte("Vedlikehold p\xe5 l\xf8rdag.\n")},
		{"huge", "at most 256 KiB", bytes.Repeat([]byte("x"), 300<<10)},
	} {
		body := filepath.Join(dir, tc.name+".txt")
		if err := os.WriteFile(body, tc.body, 0o600); err != nil {
			t.Fatal(err)
		}
		f := notifyFlags{config: "../../config.example.yaml", all: true, subject: "Maintenance", bodyFile: body}
		err := runNotify(io.Discard, f, time.Now())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s body: %v, want an error saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "hd.db")); err == nil {
		t.Error("a refused notice created the database")
	}
}
