package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// agreementsYAML adds an engineer and three agreements to runConfig's
// configuration: Acme with an hour bank and two contacts, Globex with a
// contact and no bank, Initech with neither.
const agreementsYAML = `engineers:
  members: ["Eve Engineer <engineer@demo.test>"]
plans:
  - name: std
    calendar: oslo
    priorities: {all: {first_response: 4h}}
agreements:
  - name: Acme
    customers: [acme.test]
    plan: std
    language: en
    hour_bank: {hours: 10h, per: month}
    contacts: [boss@acme.test, ops@acme.test]
  - name: Globex
    customers: [globex.test]
    plan: std
    language: en
    contacts: [it@globex.test]
  - name: Initech
    customers: [initech.test]
    plan: std
`

// configDaemon runs an in-process daemon on the configuration file cfg,
// as `helpdeskd run -c cfg` would (reloadable through the admin API),
// until the returned stop is called or the test ends.
func configDaemon(t *testing.T, cfg string) (stop func()) {
	t.Helper()
	c, err := loadValid(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o := c.daemonOptions(quietLog)
	o.reload = configReloader(cfg, quietLog, nil)
	d, err := newDaemon(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	stopped := false
	stop = func() {
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
	return stop
}

// sentTo returns the subjects of the mail support sent to the
// recipients to ("a@x,b@y").
func (e *e2e) sentTo(to string) []string {
	var subjects []string
	for _, m := range e.sent() {
		if m.to == to {
			subjects = append(subjects, m.subject)
		}
	}
	return subjects
}

// countPrefix counts the subjects that start with prefix.
func countPrefix(subjects []string, prefix string) int {
	n := 0
	for _, s := range subjects {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// cliErr runs a command that must fail and returns its error and exit
// status.
func cliErr(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, err := cli(args...)
	if err == nil {
		t.Fatalf("helpdeskd %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	return err.Error(), exitCode(err)
}

func TestAgreementCommandsThroughTheDaemon(t *testing.T) {
	e := newE2E(t)
	dir := shortTempDir(t)
	cfg := runConfig(t, e, dir, agreementsYAML)
	socket := filepath.Join(dir, "admin.sock")
	db := filepath.Join(dir, "helpdeskd.db")
	stop := configDaemon(t, cfg)

	oslo, err := time.LoadLocation("Europe/Oslo")
	if err != nil {
		t.Fatal(err)
	}
	month := time.Now().In(oslo).Format("2006-01")
	notice := filepath.Join(t.TempDir(), "notice.txt")
	os.WriteFile(notice, []byte("The portal is down for maintenance on Saturday.\n"), 0o600)
	nowhere := filepath.Join(dir, "no-config.yaml") // with --socket the daemon's agreements count

	var hoursOut, printOut string
	t.Run("hours_shows_work_logged_through_the_daemon", func(t *testing.T) {
		e.send(demoMail("boss@acme.test", "Boss", "Printer on fire", "p1@acme.test", nil, "Help."))
		e.waitFor("the ack", func() bool { return len(e.sentTo("boss@acme.test")) == 1 })
		e.send(demoMail(demoEngineer, "Eve Engineer", "Re: [#HD-000001] Printer on fire", "eng1@demo.test", nil, "#time 45m\n"))
		var u ticket.HourUse
		e.waitFor("the 45 minutes in the hour bank", func() bool {
			cliJSON(t, &u, "hours", "--socket", socket, "-c", nowhere, "--agreement", "Acme")
			return u.Used == 45*time.Minute
		})
		if len(u.Entries) != 1 || u.Entries[0].Case != "HD-000001" || u.Label != month {
			t.Errorf("hours --json = %+v, want the one entry on HD-000001 in %s", u, month)
		}
		hoursOut = mustCLI(t, "hours", "-c", cfg, "--agreement", "Acme", "--period", month)
		for _, want := range []string{"Agreement:  Acme", "Period:     " + month + " (", ", Europe/Oslo)", "Allowance:  10h per month",
			"Used:       45m (7%; warn at 80%)", "Remaining:  9h15m", "HD-000001  Eve Engineer  45m   Printer on fire"} {
			if !strings.Contains(hoursOut, want) {
				t.Errorf("hours lacks %q:\n%s", want, hoursOut)
			}
		}
		out := mustCLI(t, "hours", "-c", cfg, "--agreement", "Acme", "--period", month, "--verbose")
		if want := "helpdeskd: answered by the running daemon through the admin socket at " + socket + "\n"; !strings.Contains(out, want) {
			t.Errorf("hours --verbose does not say %q:\n%s", want, out)
		}
	})

	t.Run("hours_mistakes_are_told_with_their_exit_status", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			want string
			code int
		}{
			{[]string{"--agreement", "Nobody"}, `no agreement "Nobody"; the configuration has ["Acme" "Globex" "Initech"]`, 2},
			{[]string{"--agreement", "Acme", "--period", "2026-Q1"}, `hour bank of "Acme" is per month; "2026-Q1" is a quarter`, 2},
			{[]string{"--agreement", "Acme", "--period", "March"}, `want 2026, 2026-Q4 or 2026-03`, 2},
			{[]string{"--agreement", "Globex"}, `hour bank: agreement "Globex" has none`, 1},
		} {
			msg, code := cliErr(t, append([]string{"hours", "--socket", socket, "-c", nowhere}, tc.args...)...)
			if !strings.Contains(msg, tc.want) || code != tc.code {
				t.Errorf("hours %v: %q (exit %d), want %q (exit %d)", tc.args, msg, code, tc.want, tc.code)
			}
		}
	})

	t.Run("report_print_is_the_api_text", func(t *testing.T) {
		printOut = mustCLI(t, "report", "-c", cfg, "--agreement", "Acme", "--period", month, "--print")
		for _, want := range []string{"Subject: Support report " + month + ": Acme\n", "--- report-" + month + ".csv ---\nsection,key,value\n"} {
			if !strings.Contains(printOut, want) {
				t.Errorf("report --print lacks %q:\n%s", want, printOut)
			}
		}
		resp, err := newSocketClient(socket).do(context.Background(), http.MethodGet, "/v1/agreement-report?agreement=Acme&format=text&period="+month, nil)
		if err != nil {
			t.Fatal(err)
		}
		text, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(text) != printOut {
			t.Errorf("format=text differs from report --print:\n%s\n---\n%s", text, printOut)
		}
		csv := mustCLI(t, "report", "--socket", socket, "-c", nowhere, "--agreement", "Acme", "--period", month, "--print", "--csv")
		if !strings.HasPrefix(csv, "section,key,value\n") || !strings.HasSuffix(printOut, csv) {
			t.Errorf("--print --csv is not the attachment:\n%s", csv)
		}
		page := mustCLI(t, "report", "--socket", socket, "-c", nowhere, "--agreement", "Acme", "--period", month, "--print", "--html")
		resp, err = newSocketClient(socket).do(context.Background(), http.MethodGet, "/v1/agreement-report?agreement=Acme&format=html&period="+month, nil)
		if err != nil {
			t.Fatal(err)
		}
		html, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, "data:image/png;base64,") || string(html) != page ||
			resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("--print --html through the daemon (%.200s) and format=html (%s, %.200s) differ or are no page", page, resp.Header.Get("Content-Type"), html)
		}
	})

	t.Run("report_send_delivers_and_sends_again_when_asked_again", func(t *testing.T) {
		contacts := "boss@acme.test,ops@acme.test"
		subject := "Support report " + month + ": Acme"
		out := mustCLI(t, "report", "-c", cfg, "--agreement", "Acme", "--period", month, "--send")
		want := fmt.Sprintf("queued the %s report of Acme to boss@acme.test, ops@acme.test through the admin socket at %s; the daemon is sending it\n", month, socket)
		if out != want {
			t.Errorf("report --send said\n%q, want\n%q", out, want)
		}
		e.waitFor("the report delivered", func() bool { return countPrefix(e.sentTo(contacts), subject) == 1 })
		e.waitFor("the outbox empty", func() bool {
			var rows []outboxRow
			cliJSON(t, &rows, "outbox", "list", "--socket", socket)
			return len(rows) == 0
		})
		if n := countPrefix(e.sentTo(contacts), subject); n != 1 {
			t.Errorf("%d report mails after one --send, want 1", n)
		}
		mustCLI(t, "report", "--socket", socket, "-c", nowhere, "--agreement", "Acme", "--period", month, "--send")
		e.waitFor("the report delivered again", func() bool { return countPrefix(e.sentTo(contacts), subject) == 2 })
		msg, code := cliErr(t, "report", "--socket", socket, "-c", nowhere, "--agreement", "Initech", "--period", month, "--send")
		if !strings.Contains(msg, `report of "Initech": the agreement has nobody to send it to`) || code != 1 {
			t.Errorf("--send to an agreement without contacts: %q (exit %d)", msg, code)
		}
	})

	t.Run("notify_lists_then_delivers_one_mail_per_agreement", func(t *testing.T) {
		args := []string{"notify", "--socket", socket, "-c", nowhere, "--all", "--subject", "Maintenance Saturday", "--body-file", notice}
		out := mustCLI(t, append(args, "--dry-run")...)
		if want := "acme.test (Acme): boss@acme.test, ops@acme.test\nglobex.test (Globex): it@globex.test\n"; out != want {
			t.Errorf("notify --dry-run listed\n%q, want\n%q", out, want)
		}
		out = mustCLI(t, args...)
		for _, want := range []string{"queued HD-000002 to acme.test (Acme)\n", "queued HD-000003 to globex.test (Globex)\n", "queued through the admin socket at " + socket + "; the daemon is sending them\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("notify lacks %q:\n%s", want, out)
			}
		}
		e.waitFor("the notices delivered", func() bool {
			return countPrefix(e.sentTo("boss@acme.test,ops@acme.test"), "[#HD-000002] Maintenance Saturday") == 1 &&
				countPrefix(e.sentTo("it@globex.test"), "[#HD-000003] Maintenance Saturday") == 1
		})
		var rows []ticketRow
		cliJSON(t, &rows, "tickets", "list", "--socket", socket, "--state", "pending")
		if len(rows) != 2 || rows[0].Agreement != "Acme" || rows[1].Agreement != "Globex" {
			t.Errorf("pending tickets %+v, want the notices to Acme and Globex", rows)
		}
		msg, code := cliErr(t, "notify", "--socket", socket, "-c", nowhere, "--agreement", "Initech", "--subject", "s", "--body-file", notice)
		if msg != `agreement "Initech" has no contacts; add contacts to it in the configuration` || code != 1 {
			t.Errorf("notify to an agreement without contacts: %q (exit %d)", msg, code)
		}
	})

	t.Run("reloaded_agreements_count", func(t *testing.T) {
		raw, _ := os.ReadFile(cfg)
		next := strings.Replace(string(raw), "customers: [initech.test]\n", "customers: [initech.test]\n    contacts: [cto@initech.test]\n", 1)
		os.WriteFile(cfg, []byte(next), 0o600)
		mustCLI(t, "reload", "--socket", socket)
		out := mustCLI(t, "notify", "--socket", socket, "-c", nowhere, "--agreement", "Initech", "--subject", "s", "--body-file", notice, "--dry-run")
		if out != "initech.test (Initech): cto@initech.test\n" {
			t.Errorf("after the reload, notify --dry-run listed %q", out)
		}
	})

	t.Run("file_reads_a_copy_while_the_daemon_runs_and_refuses_writes", func(t *testing.T) {
		cp := filepath.Join(t.TempDir(), "copy.db")
		mustCLI(t, "backup", cp, "--socket", socket)
		live := mustCLI(t, "report", "-c", cfg, "--agreement", "Acme", "--period", month, "--print")
		out := mustCLI(t, "report", "-c", cfg, "--agreement", "Acme", "--period", month, "--print", "--file", cp, "-v")
		say := "helpdeskd: reading the database file " + cp + " (--file) with the agreements of " + cfg + "\n"
		if !strings.HasPrefix(out, say) || strings.TrimPrefix(out, say) != live {
			t.Errorf("report --print --file -v on the copy:\n%s\nwant %q and then the daemon's\n%s", out, say, live)
		}
		printOut = live // with the notice to Acme, a case of its own
		if out := mustCLI(t, "hours", "-c", cfg, "--agreement", "Acme", "--period", month, "--file", cp); out != hoursOut {
			t.Errorf("hours from the copy differs from the daemon's:\n%s\n---\n%s", out, hoursOut)
		}
		mustCLI(t, "notify", "-c", cfg, "--all", "--subject", "s", "--body-file", notice, "--dry-run", "--file", cp)
		for _, args := range [][]string{
			{"report", "-c", cfg, "--agreement", "Acme", "--period", month, "--send", "--file", cp},
			{"notify", "-c", cfg, "--all", "--subject", "s", "--body-file", notice, "--file", cp},
		} {
			msg, code := cliErr(t, args...)
			if !strings.HasPrefix(msg, "--file reads a copy of the database (a backup), which is not the live desk") || code != 2 {
				t.Errorf("%s --file: %q (exit %d)", args[0], msg, code)
			}
		}
		if _, err := cli("hours", "-c", cfg, "--agreement", "Acme", "--file", db); err == nil || !strings.Contains(err.Error(), "leave out --file") {
			t.Errorf("--file on the live database: %v", err)
		}
	})

	t.Run("with_the_daemon_stopped_the_commands_use_the_file", func(t *testing.T) {
		stop()
		out := mustCLI(t, "hours", "-c", cfg, "--agreement", "Acme", "--period", month, "-v")
		say := "helpdeskd: helpdeskd is not running (no admin socket at " + socket + "); using the database file " + db + " with the agreements of " + cfg + "\n"
		if !strings.HasPrefix(out, say) || strings.TrimPrefix(out, say) != hoursOut {
			t.Errorf("hours with the daemon stopped:\n%s\nwant %q and then\n%s", out, say, hoursOut)
		}
		if out := mustCLI(t, "report", "-c", cfg, "--agreement", "Acme", "--period", month, "--print"); out != printOut {
			t.Errorf("report --print with the daemon stopped differs:\n%s\n---\n%s", out, printOut)
		}
		out = mustCLI(t, "report", "-c", cfg, "--agreement", "Globex", "--period", month, "--send")
		if want := fmt.Sprintf("queued the %s report of Globex to it@globex.test in the database file %s; the daemon sends it when it starts\n", month, db); out != want {
			t.Errorf("report --send with the daemon stopped said\n%q, want\n%q", out, want)
		}
		out = mustCLI(t, "notify", "-c", cfg, "--agreement", "Initech", "--subject", "Welcome", "--body-file", notice)
		if !strings.Contains(out, "queued HD-000004 to initech.test (Initech)\nqueued in the database file "+db+"; the daemon sends it when it starts\n") {
			t.Errorf("notify with the daemon stopped said:\n%s", out)
		}
		_, code := cliErr(t, "hours", "-c", cfg, "--agreement", "Nobody")
		if code != 2 {
			t.Errorf("unknown agreement with the daemon stopped: exit %d, want 2 as through the daemon", code)
		}

		configDaemon(t, cfg)
		e.waitFor("the queued report and notice delivered by the restarted daemon", func() bool {
			return countPrefix(e.sentTo("it@globex.test"), "Support report "+month+": Globex") == 1 &&
				countPrefix(e.sentTo("cto@initech.test"), "[#HD-000004] Welcome") == 1
		})
	})
}

func TestAgreementEndpointsAnswerMistakesWithCodes(t *testing.T) {
	e := newE2E(t)
	dir := shortTempDir(t)
	configDaemon(t, runConfig(t, e, dir, agreementsYAML))
	c := newSocketClient(filepath.Join(dir, "admin.sock"))
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown_agreement", "GET", "/v1/hours?agreement=Nobody", "", 404, codeUnknownAgreement},
		{"no_agreement_named", "GET", "/v1/hours", "", 400, codeBadRequest},
		{"period_of_another_length", "GET", "/v1/hours?agreement=Acme&period=2026", "", 400, codeBadPeriod},
		{"no_hour_bank", "GET", "/v1/hours?agreement=Globex", "", 422, codeNoHourBank},
		{"bad_at", "GET", "/v1/hours?agreement=Acme&at=noon", "", 400, codeBadRequest},
		{"report_without_period", "GET", "/v1/agreement-report?agreement=Acme", "", 400, codeBadPeriod},
		{"report_format", "GET", "/v1/agreement-report?agreement=Acme&period=2026-03&format=pdf", "", 400, codeBadRequest},
		{"send_without_recipients", "POST", "/v1/agreement-report/send", `{"agreement":"Initech","period":"2026-03"}`, 422, codeNoRecipients},
		{"send_unknown_field", "POST", "/v1/agreement-report/send", `{"agreement":"Acme","period":"2026-03","colour":"blue"}`, 400, codeBadRequest},
		{"notify_both", "POST", "/v1/notify", `{"agreements":["Acme"],"all":true,"subject":"s","body":"b"}`, 400, codeBadRequest},
		{"notify_empty_body", "POST", "/v1/notify", `{"all":true,"subject":"s","body":" "}`, 400, codeBadRequest},
		{"notify_unknown_agreement", "POST", "/v1/notify", `{"agreements":["Nobody"],"subject":"s","body":"b"}`, 404, codeUnknownAgreement},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, c.base+tc.path, strings.NewReader(tc.body))
			resp, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var reply errorReply
			if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || reply.Code != tc.code || reply.Error == "" {
				t.Errorf("status %d, %+v; want %d with code %s and a message", resp.StatusCode, reply, tc.status, tc.code)
			}
		})
	}
	// Nothing was queued by the mistakes.
	var rows []outboxRow
	cliJSON(t, &rows, "outbox", "list", "--socket", c.socket)
	if len(rows) != 0 {
		t.Errorf("outbox after refused requests: %+v", rows)
	}
}

func TestAgreementCommandsWithoutDaemonOrConfiguration(t *testing.T) {
	dir := shortTempDir(t)
	_, err := cli("hours", "--socket", filepath.Join(dir, "none.sock"), "-c", filepath.Join(dir, "missing.yaml"), "--agreement", "Acme")
	if err == nil || !strings.Contains(err.Error(), "helpdeskd is not running (no admin socket at ") ||
		!strings.Contains(err.Error(), "to read its database file instead") {
		t.Errorf("no daemon and no configuration: %v", err)
	}
}
