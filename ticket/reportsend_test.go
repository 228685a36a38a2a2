package ticket_test

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// reportRig is a desk on a real store file with agreements that send
// reports, and what it takes to restart it.
type reportRig struct {
	t     *testing.T
	path  string
	ags   []*sla.Agreement
	db    *store.DB
	store ticket.Store // db, or a wrapper of it
	desk  *ticket.Desk
	// wrap, when set, wraps the store the desk uses.
	wrap func(*store.DB) ticket.Store
}

func newReportRig(t *testing.T, ags ...*sla.Agreement) *reportRig {
	r := &reportRig{t: t, path: filepath.Join(t.TempDir(), "hd.db"), ags: ags}
	r.open()
	t.Cleanup(func() { r.db.Close() })
	return r
}

// open opens the file and builds a desk on it with r.ags.
func (r *reportRig) open() {
	r.t.Helper()
	db, err := store.Open(r.path, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		r.t.Fatal(err)
	}
	r.db, r.store = db, db
	if r.wrap != nil {
		r.store = r.wrap(db)
	}
	r.configure(r.ags...)
}

// configure gives the desk new agreements, as a reload does.
func (r *reportRig) configure(ags ...*sla.Agreement) {
	r.t.Helper()
	r.ags = ags
	idx, err := sla.NewAgreements(ags, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	r.desk, err = ticket.NewDesk(ticket.Options{Store: r.store, Support: mailer.Address{Addr: "support@example.com"},
		Agreements: idx, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		r.t.Fatal(err)
	}
}

// restart closes the store and opens it again, with a new desk.
func (r *reportRig) restart() {
	r.t.Helper()
	if err := r.db.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.open()
}

func (r *reportRig) sync(now time.Time) {
	r.t.Helper()
	if err := r.desk.SyncReports(now); err != nil {
		r.t.Fatalf("SyncReports(%s): %v", now, err)
	}
}

func (r *reportRig) timers() []ticket.Timer {
	r.t.Helper()
	var tms []ticket.Timer
	if err := r.db.View(func(tx ticket.Tx) (err error) { tms, err = tx.Timers(""); return err }); err != nil {
		r.t.Fatal(err)
	}
	return tms
}

// sentMail is a queued report mail: when, to whom, which period.
type sentMail struct {
	at     time.Time
	to     string
	period string
}

func (r *reportRig) mails() []sentMail {
	r.t.Helper()
	var out []sentMail
	if err := r.db.Outbox(func(env mailer.Envelope, _ bool) error {
		if env.Purpose != "report" {
			return nil
		}
		_, after, _ := strings.Cut(string(env.Raw), `filename="report-`)
		period, _, _ := strings.Cut(after, `.csv"`)
		out = append(out, sentMail{at: env.Created, to: strings.Join(env.To, ","), period: period})
		return nil
	}); err != nil {
		r.t.Fatal(err)
	}
	return out
}

func reportPlan(t *testing.T, zoneName string) *sla.Plan {
	return &sla.Plan{Name: "p-" + zoneName, Calendar: builtinCal(t, "24x7", zone(t, zoneName)), Priorities: every(first(sla.Hours(8 * time.Hour)))}
}

// The agreements of the year-long run: Trinax (Stockholm) with monthly,
// quarterly and yearly reports to its own recipients; Jotron (Oslo) with
// its yearly report on 1 February; Northwind (Toronto), quarterly, whose
// contract ends on 31 August 2027; Kund C (Stockholm), monthly, in force
// from 15 March to 31 May 2027.
func yearOfReportAgreements(t *testing.T) []*sla.Agreement {
	sto, osl, tor := reportPlan(t, "Europe/Stockholm"), reportPlan(t, "Europe/Oslo"), reportPlan(t, "America/Toronto")
	stockholm, toronto := zone(t, "Europe/Stockholm"), zone(t, "America/Toronto")
	return []*sla.Agreement{
		{Name: "Trinax", Customers: []string{"trinax.se"}, Plan: sto, Language: "sv", Contacts: []string{"boss@trinax.se"},
			Reports: sla.ReportSchedule{Every: []sla.Period{sla.Monthly, sla.Quarterly, sla.Yearly}, To: []string{"Trinax CIO <CIO@trinax.se>"}}},
		{Name: "Jotron", Customers: []string{"jotron.com"}, Plan: osl, Language: "nb", Contacts: []string{"ceo@jotron.com"},
			Reports: sla.ReportSchedule{Every: []sla.Period{sla.Yearly}, YearlyOn: sla.Date{Month: time.February, Day: 1}}},
		{Name: "Northwind", Customers: []string{"northwind.example"}, Plan: tor, Contacts: []string{"it@northwind.example"},
			ValidUntil: time.Date(2027, 9, 1, 0, 0, 0, 0, toronto), Reports: sla.ReportSchedule{Every: []sla.Period{sla.Quarterly}}},
		{Name: "Kund C", Customers: []string{"kundc.example"}, Plan: sto, Contacts: []string{"c@kundc.example"},
			ValidFrom: time.Date(2027, 3, 15, 0, 0, 0, 0, stockholm), ValidUntil: time.Date(2027, 6, 1, 0, 0, 0, 0, stockholm),
			Reports: sla.ReportSchedule{Every: []sla.Period{sla.Monthly}}},
	}
}

// TestReportsFireOncePerPeriodOverAYear runs from December 2026 to
// February 2028 on an injected clock that wakes only when NextReportAt
// says, with a restart in the middle and a clock jump back after every
// wake-up: each report goes out at its instant in its agreement's zone,
// exactly once, to its recipients.
func TestReportsFireOncePerPeriodOverAYear(t *testing.T) {
	ags := yearOfReportAgreements(t)
	r := newReportRig(t, ags...)
	sto, osl, tor := zone(t, "Europe/Stockholm"), zone(t, "Europe/Oslo"), zone(t, "America/Toronto")
	now := time.Date(2026, 12, 10, 12, 0, 0, 0, sto)
	r.sync(now)
	end := time.Date(2028, 2, 2, 0, 0, 0, 0, sto)

	var got []string
	restarted := false
	for wakeups := 0; ; wakeups++ {
		if wakeups > 60 {
			t.Fatal("more than 60 wake-ups")
		}
		sent, err := r.desk.SendDueReports(now)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sent {
			got = append(got, now.UTC().Format(time.RFC3339)+" "+s)
		}
		before := r.timers()
		if again, err := r.desk.SendDueReports(now.Add(-48 * time.Hour)); len(again) != 0 || err != nil {
			t.Errorf("%s: a clock jump back sent %v (%v)", now, again, err)
		}
		r.sync(now.Add(-48 * time.Hour))
		if after := r.timers(); !slices.Equal(after, before) {
			t.Errorf("%s: a sync with the clock set back changed the timers:\n%v\nto\n%v", now, before, after)
		}
		if !restarted && !now.Before(time.Date(2027, 7, 1, 0, 0, 0, 0, sto)) {
			r.restart()
			r.sync(now)
			if after := r.timers(); !slices.Equal(after, before) {
				t.Errorf("a restart changed the timers:\n%v\nto\n%v", before, after)
			}
			restarted = true
		}
		next, ok, err := r.desk.NextReportAt(now)
		if err != nil || !ok {
			t.Fatalf("NextReportAt = %v, %v, %v", next, ok, err)
		}
		if !next.After(now) {
			t.Fatalf("NextReportAt %s is not after the wake-up at %s", next, now)
		}
		if next.After(end) {
			break
		}
		now = next
	}

	at := func(loc *time.Location, y int, m time.Month, d int, what ...string) []string {
		var out []string
		for _, w := range what {
			out = append(out, time.Date(y, m, d, 0, 0, 0, 0, loc).UTC().Format(time.RFC3339)+" "+w)
		}
		return out
	}
	want := slices.Concat(
		at(sto, 2027, 1, 1, "Trinax 2026-12", "Trinax 2026-Q4", "Trinax 2026"),
		at(tor, 2027, 1, 1, "Northwind 2026-Q4"),
		at(osl, 2027, 2, 1, "Jotron 2026"), // the day in Q1, not 1 January
		at(sto, 2027, 2, 1, "Trinax 2027-01"),
		at(sto, 2027, 3, 1, "Trinax 2027-02"),
		at(sto, 2027, 4, 1, "Kund C 2027-03", "Trinax 2027-03", "Trinax 2027-Q1"), // Kund C: from 15 March
		at(tor, 2027, 4, 1, "Northwind 2027-Q1"),
		at(sto, 2027, 5, 1, "Kund C 2027-04", "Trinax 2027-04"),
		at(sto, 2027, 6, 1, "Kund C 2027-05", "Trinax 2027-05"), // Kund C's last
		at(sto, 2027, 7, 1, "Trinax 2027-06", "Trinax 2027-Q2"),
		at(tor, 2027, 7, 1, "Northwind 2027-Q2"),
		at(sto, 2027, 8, 1, "Trinax 2027-07"),
		at(sto, 2027, 9, 1, "Trinax 2027-08"),
		at(sto, 2027, 10, 1, "Trinax 2027-09", "Trinax 2027-Q3"),
		at(tor, 2027, 10, 1, "Northwind 2027-Q3"), // in force until 31 August: the last
		at(sto, 2027, 11, 1, "Trinax 2027-10"),
		at(sto, 2027, 12, 1, "Trinax 2027-11"),
		at(sto, 2028, 1, 1, "Trinax 2027-12", "Trinax 2027-Q4", "Trinax 2027"),
		at(osl, 2028, 2, 1, "Jotron 2027"),
		at(sto, 2028, 2, 1, "Trinax 2028-01"),
	)
	if !slices.Equal(got, want) {
		t.Errorf("reports sent:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !restarted {
		t.Error("the run never restarted")
	}

	// One mail per report, queued at its instant, to the agreement's
	// reports.to if set, else its contacts.
	mails := r.mails()
	if len(mails) != len(want) {
		t.Fatalf("%d report mails queued, want %d", len(mails), len(want))
	}
	recipients := map[string]string{"Trinax": "cio@trinax.se", "Jotron": "ceo@jotron.com", "Northwind": "it@northwind.example", "Kund C": "c@kundc.example"}
	for i, m := range mails {
		when, what, _ := strings.Cut(want[i], " ")
		name := what[:strings.LastIndexByte(what, ' ')]
		if m.at.UTC().Format(time.RFC3339) != when || m.to != recipients[name] || name+" "+m.period != what {
			t.Errorf("mail %d: %s to %s, period %s; want %s to %s", i, m.at.UTC().Format(time.RFC3339), m.to, m.period, want[i], recipients[name])
		}
	}
	// Ended contracts have no timer left; the others wait for their next.
	var names []string
	for _, tm := range r.timers() {
		names = append(names, tm.Name+" "+tm.Payload)
	}
	if w := []string{"report/Jotron/year 2028", "report/Trinax/month 2028-02", "report/Trinax/quarter 2028-Q1", "report/Trinax/year 2028"}; !slices.Equal(names, w) {
		t.Errorf("timers at the end: %v, want %v", names, w)
	}
}

// TestReportsAfterDowntime: when the clock jumps forward over several
// periods (the daemon was down), each missed period goes out once, oldest
// first, and nothing more.
func TestReportsAfterDowntime(t *testing.T) {
	ags := yearOfReportAgreements(t)[:1] // Trinax
	r := newReportRig(t, ags...)
	sto := zone(t, "Europe/Stockholm")
	r.sync(time.Date(2027, 1, 10, 9, 0, 0, 0, sto))
	for _, step := range []struct {
		now  time.Time
		want []string
	}{
		{time.Date(2027, 3, 15, 9, 0, 0, 0, sto), []string{"Trinax 2027-01", "Trinax 2027-02"}},
		{time.Date(2027, 3, 15, 9, 0, 0, 0, sto), nil},
		{time.Date(2027, 7, 2, 9, 0, 0, 0, sto), []string{"Trinax 2027-03", "Trinax 2027-Q1", "Trinax 2027-04", "Trinax 2027-05", "Trinax 2027-06", "Trinax 2027-Q2"}},
	} {
		r.restart() // as a daemon starting after downtime would
		r.sync(step.now)
		sent, err := r.desk.SendDueReports(step.now)
		if err != nil || !slices.Equal(sent, step.want) {
			t.Errorf("SendDueReports(%s) = %v, %v; want %v", step.now, sent, err, step.want)
		}
	}
	if n := len(r.mails()); n != 8 {
		t.Errorf("%d mails, want 8", n)
	}
}

// failingStore fails Enqueue of mail to one address while fail is set.
type failingStore struct {
	*store.DB
	failTo string
	fail   bool
}

var errQueue = errors.New("outbox full")

func (s *failingStore) Update(fn func(ticket.Tx) error) error {
	return s.DB.Update(func(tx ticket.Tx) error { return fn(failingTx{tx, s}) })
}

type failingTx struct {
	ticket.Tx
	s *failingStore
}

func (tx failingTx) Enqueue(env *mailer.Envelope) error {
	if tx.s.fail && slices.Contains(env.To, tx.s.failTo) {
		return errQueue
	}
	return tx.Tx.Enqueue(env)
}

// A report that cannot be queued leaves its period due, does not hold up
// the others, and goes out once the queue takes it.
func TestReportThatFailsStaysDue(t *testing.T) {
	ags := yearOfReportAgreements(t)[:2] // Trinax and Jotron
	fs := &failingStore{failTo: "ceo@jotron.com", fail: true}
	r := &reportRig{t: t, path: filepath.Join(t.TempDir(), "hd.db"), ags: ags,
		wrap: func(db *store.DB) ticket.Store { fs.DB = db; return fs }}
	r.open()
	t.Cleanup(func() { r.db.Close() })
	osl := zone(t, "Europe/Oslo")
	r.sync(time.Date(2027, 1, 20, 9, 0, 0, 0, osl))

	now := time.Date(2027, 2, 1, 0, 0, 0, 0, osl)
	sent, err := r.desk.SendDueReports(now)
	if !errors.Is(err, errQueue) || !slices.Equal(sent, []string{"Trinax 2027-01"}) {
		t.Fatalf("with Jotron's mail failing: SendDueReports = %v, %v; want Trinax's sent and the queue's error", sent, err)
	}
	if tms := r.timers(); len(tms) == 0 || tms[0].Name != "report/Jotron/year" || tms[0].Payload != "2026" || !tms[0].At.Equal(now) {
		t.Errorf("timers %v; want Jotron's 2026 report still due at %s", tms, now)
	}
	if next, ok, _ := r.desk.NextReportAt(now); !ok || !next.Equal(time.Date(2027, 3, 1, 0, 0, 0, 0, osl)) {
		t.Errorf("NextReportAt(now) = %s, %v; want Trinax's next month, 1 March", next, ok)
	}
	r.restart() // the failure is not forgotten across a restart either
	r.sync(now.Add(time.Hour))
	later := now.Add(5 * time.Minute)
	if sent, err := r.desk.SendDueReports(later); !errors.Is(err, errQueue) || len(sent) != 0 {
		t.Errorf("retry while still failing = %v, %v", sent, err)
	}
	fs.fail = false
	if sent, err := r.desk.SendDueReports(later); err != nil || !slices.Equal(sent, []string{"Jotron 2026"}) {
		t.Errorf("retry after the queue recovered = %v, %v; want Jotron 2026", sent, err)
	}
	if sent, err := r.desk.SendDueReports(later); err != nil || len(sent) != 0 {
		t.Errorf("once more = %v, %v; want nothing", sent, err)
	}
	var jotron []sentMail
	for _, m := range r.mails() {
		if m.to == "ceo@jotron.com" {
			jotron = append(jotron, m)
		}
	}
	if len(jotron) != 1 || jotron[0].period != "2026" || !jotron[0].at.Equal(later) {
		t.Errorf("Jotron's mails: %v, want the 2026 report once, queued at %s", jotron, later)
	}
}

// TestSyncReportsFollowsTheConfiguration: enabling reports schedules the
// current period and mails no backlog; a changed yearly_on moves the
// timer; a dropped cadence, agreement or recipient list clears it; a
// sync that has nothing to do changes nothing.
func TestSyncReportsFollowsTheConfiguration(t *testing.T) {
	osl := zone(t, "Europe/Oslo")
	plan := reportPlan(t, "Europe/Oslo")
	jotron := func(rs sla.ReportSchedule, contacts ...string) *sla.Agreement {
		return &sla.Agreement{Name: "Jotron", Customers: []string{"jotron.com"}, Plan: plan, Contacts: contacts, Reports: rs}
	}
	other := &sla.Agreement{Name: "Other", Customers: []string{"other.example"}, Plan: plan}
	r := newReportRig(t, other)
	now := time.Date(2027, 1, 20, 9, 0, 0, 0, osl)
	show := func() string {
		var s []string
		for _, tm := range r.timers() {
			s = append(s, fmt.Sprintf("%s %s %s", tm.Name, tm.Payload, tm.At.In(osl).Format("2006-01-02T15:04")))
		}
		return strings.Join(s, "; ")
	}
	feb1 := sla.Date{Month: time.February, Day: 1}
	mar15 := sla.Date{Month: time.March, Day: 15}
	for _, step := range []struct {
		name string
		ags  []*sla.Agreement
		want string
	}{
		{"no_reports_no_timers", []*sla.Agreement{other, jotron(sla.ReportSchedule{}, "ceo@jotron.com")}, ""},
		{"reports_without_recipients_are_not_scheduled", []*sla.Agreement{jotron(sla.ReportSchedule{Every: []sla.Period{sla.Monthly}})}, ""},
		{"enabled_in_january_the_q1_report_of_last_year_is_next", []*sla.Agreement{jotron(sla.ReportSchedule{Every: []sla.Period{sla.Monthly, sla.Yearly}, YearlyOn: feb1}, "ceo@jotron.com")},
			"report/Jotron/month 2027-01 2027-02-01T00:00; report/Jotron/year 2026 2027-02-01T00:00"},
		{"yearly_on_moved", []*sla.Agreement{jotron(sla.ReportSchedule{Every: []sla.Period{sla.Monthly, sla.Yearly}, YearlyOn: mar15}, "ceo@jotron.com")},
			"report/Jotron/month 2027-01 2027-02-01T00:00; report/Jotron/year 2026 2027-03-15T00:00"},
		{"yearly_on_dropped_reports_at_year_end_at_once", []*sla.Agreement{jotron(sla.ReportSchedule{Every: []sla.Period{sla.Monthly, sla.Yearly}, To: []string{"cio@jotron.com"}})},
			"report/Jotron/month 2027-01 2027-02-01T00:00; report/Jotron/year 2026 2027-01-01T00:00"},
		{"cadence_dropped", []*sla.Agreement{jotron(sla.ReportSchedule{Every: []sla.Period{sla.Yearly}}, "ceo@jotron.com")},
			"report/Jotron/year 2026 2027-01-01T00:00"},
		{"recipients_dropped", []*sla.Agreement{jotron(sla.ReportSchedule{Every: []sla.Period{sla.Yearly}})}, ""},
		{"agreement_dropped", []*sla.Agreement{other}, ""},
	} {
		r.configure(step.ags...)
		r.sync(now)
		if got := show(); got != step.want {
			t.Errorf("%s: timers %q\nwant %q", step.name, got, step.want)
		}
		before := r.timers()
		r.sync(now)
		if after := r.timers(); !slices.Equal(after, before) {
			t.Errorf("%s: a second sync changed the timers", step.name)
		}
	}
	// Enabled mid-month: nothing is due until the month ends.
	r.configure(jotron(sla.ReportSchedule{Every: []sla.Period{sla.Monthly, sla.Quarterly}}, "ceo@jotron.com"))
	r.sync(now)
	if sent, err := r.desk.SendDueReports(now); err != nil || len(sent) != 0 {
		t.Errorf("reports sent on enabling: %v, %v; want none (no backlog)", sent, err)
	}
}

// TestReportHTMLPartFollowsTheAgreement: reports.html adds an HTML
// alternative with the chart inline; without it the mail is text and CSV.
func TestReportHTMLPartFollowsTheAgreement(t *testing.T) {
	ags := yearOfReportAgreements(t)[:2] // Trinax and Jotron
	ags[0].Reports.HTML = true
	r := newReportRig(t, ags...)
	sto := zone(t, "Europe/Stockholm")
	r.sync(time.Date(2027, 1, 20, 9, 0, 0, 0, sto))
	if _, err := r.desk.SendDueReports(time.Date(2027, 2, 1, 12, 0, 0, 0, sto)); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{} // recipients → the mail's parts
	if err := r.db.Outbox(func(env mailer.Envelope, _ bool) error {
		m := mailer.Parse(env.Raw)
		var parts []string
		for _, a := range m.Attachments {
			parts = append(parts, fmt.Sprintf("%s inline=%v", a.ContentType, a.Inline))
		}
		html := strings.Contains(string(env.Raw), "Content-Type: text/html")
		kinds[strings.Join(env.To, ",")] = fmt.Sprintf("html=%v %s", html, strings.Join(parts, "; "))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"cio@trinax.se":  "html=true image/png inline=true; text/csv inline=false",
		"ceo@jotron.com": "html=false text/csv inline=false",
	}
	for to, w := range want {
		if kinds[to] != w {
			t.Errorf("report to %s: %s, want %s", to, kinds[to], w)
		}
	}
}
