package ticket_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The agreements of DESIGN.md, as sla/examples_test.go expresses them,
// with escalation chains and the groups they name.

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func builtinCal(t testing.TB, name string, loc *time.Location) *sla.Calendar {
	t.Helper()
	c, err := sla.Builtin(name, loc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func weekCal(t testing.TB, name, hours string, loc *time.Location, holidays []string, closures ...sla.Closure) *sla.Calendar {
	t.Helper()
	week, err := sla.ParseWeek(hours)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sla.NewCalendar(sla.CalendarSpec{Name: name, Location: loc, Week: week, Holidays: holidays, Closures: closures})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func first(tg sla.Target) sla.PriorityTargets { return sla.PriorityTargets{FirstResponse: tg} }

func every(pt sla.PriorityTargets) map[int]sla.PriorityTargets {
	return map[int]sla.PriorityTargets{1: pt, 2: pt, 3: pt, 4: pt}
}

// Escalation groups of the examples, and their addresses.
const (
	leadAddr       = "lead@example.com"       // support-lead, Oslo office hours
	managerAddr    = "manager@example.com"    // support-manager, the plan's hours
	emtOncallAddr  = "oncall@emt.example"     // emt-oncall, 24x7
	emtManagerAddr = "manager@emt.example"    // emt-manager, 9-5 Toronto
	directorAddr   = "director@emt.example"   // emt-director
	tersoOncall    = "oncall@terso.example"   // terso-oncall, 24x7 Chicago
	ctoAddr        = "cto@example.com"        // cto
	engineerAddr   = "engineer@example.com"   // an engineer
	supportAddr    = "support@example.com"    // us
	customerJotron = "ola@jotron.com"         // Jotron
	customerTeleko = "lars@telekompetanse.no" // Telekompetanse
)

type slaExamples struct {
	agreements *sla.Agreements
	groups     map[string]ticket.EscalationGroup
	oslo       *sla.Calendar
}

func exampleSLA(t testing.TB) *slaExamples {
	t.Helper()
	toronto, chicago, stockholm := zone(t, "America/Toronto"), zone(t, "America/Chicago"), zone(t, "Europe/Stockholm")
	oslo := builtinCal(t, "oslo", nil)
	osloLoc := oslo.Location
	std := sla.Escalation{Warn: []string{"support-lead"}, Breach: []string{"support-manager"}}

	// Jotron: 1–3 business days by priority, Oslo 08–16, Norwegian holidays.
	jotron := &sla.Plan{Name: "jotron", Calendar: oslo, Escalation: std, Priorities: map[int]sla.PriorityTargets{
		1: first(sla.Days(1)), 2: first(sla.Days(2)), 3: first(sla.Days(3)), 4: first(sla.Days(3)),
	}}

	// E-MetroTel: Standard 9–5 24 h, Premium 7–7 4 h, Premium Plus 24/7 2 h.
	emtStandard := &sla.Plan{Name: "emetrotel-standard", Calendar: builtinCal(t, "9-5", toronto), Priorities: every(first(sla.Days(1))),
		Escalation: sla.Escalation{Warn: []string{"support-lead"}, Breach: []string{"emt-manager"}}}
	emtPremium := &sla.Plan{Name: "emetrotel-premium", Calendar: builtinCal(t, "7-7", toronto), Priorities: every(first(sla.Hours(4 * time.Hour))),
		Escalation: sla.Escalation{Warn: []string{"support-lead"}, Breach: []string{"emt-manager"}}}
	emtPremiumPlus := &sla.Plan{Name: "emetrotel-premium-plus", Calendar: builtinCal(t, "24x7", toronto), Priorities: every(first(sla.Hours(2 * time.Hour))),
		Escalation: sla.Escalation{Warn: []string{"emt-oncall"}, Breach: []string{"emt-oncall", "emt-manager"},
			Then: []sla.EscalationStep{{After: time.Hour, To: []string{"emt-director"}}}}}
	emtFields := []string{"End Customer Name", "System Type", "Host ID", "Software Release", "Call Scenario"}
	emtRules := []sla.PriorityRule{{Pattern: regexp.MustCompile(`(?i)emergency\s*[-–—:]*\s*system\s+down`), Priority: 1}}
	emt := func(name string, plan *sla.Plan, customers []string, from, until time.Time) *sla.Agreement {
		return &sla.Agreement{Name: name, Customers: customers, Plan: plan, Language: "en", ValidFrom: from, ValidUntil: until,
			RequiredFields: emtFields, PriorityRules: emtRules}
	}
	day := func(loc *time.Location, y int, m time.Month, d int) time.Time {
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}

	// Trinax: Alert!/Attend!/Access! 1 h / 8 h / 16 h within 08–17.
	trinaxCal := weekCal(t, "trinax", "mon-fri 08:00-17:00", stockholm, []string{"se"})
	trinaxPlan := func(name string, d time.Duration) *sla.Plan {
		return &sla.Plan{Name: name, Calendar: trinaxCal, Priorities: every(first(sla.Hours(d))), Escalation: std}
	}
	var trinaxRules []sla.PriorityRule
	for prio, word := range []string{1: "kritisk", 2: "hög", 3: "normal", 4: "låg"} {
		if word != "" {
			trinaxRules = append(trinaxRules, sla.PriorityRule{Pattern: regexp.MustCompile(`(?i)\b` + word + `\b`), Priority: prio, SubjectOnly: true})
		}
	}
	trinax := func(name string, plan *sla.Plan, customers []string) *sla.Agreement {
		return &sla.Agreement{Name: name, Customers: customers, Plan: plan, Language: "sv", PriorityRules: trinaxRules}
	}

	// Telekompetanse: NBD for levels 1–2, 5 business days for routine
	// requests; Christmas Eve and New Year's Eve close at noon.
	osloXmas := weekCal(t, "oslo-christmas", "mon-fri 08:00-16:00", osloLoc, []string{"no"},
		sla.Closure{Date: sla.Date{Month: time.December, Day: 24}, From: 12 * time.Hour, Reason: "Christmas Eve"},
		sla.Closure{Date: sla.Date{Month: time.December, Day: 31}, From: 12 * time.Hour, Reason: "New Year's Eve"})
	teleko := &sla.Plan{Name: "telekompetanse", Calendar: osloXmas, Escalation: std, Priorities: map[int]sla.PriorityTargets{
		1: first(sla.NBD), 2: first(sla.NBD), 3: first(sla.Days(5)), 4: first(sla.Days(5)),
	}}

	// Terso: high priority 24/7, otherwise one business day; escalation.
	terso := &sla.Plan{
		Name:     "terso",
		Calendar: weekCal(t, "terso", "mon-fri 08:00-17:00", chicago, []string{"us"}),
		Priorities: map[int]sla.PriorityTargets{
			1: {FirstResponse: sla.Hours(time.Hour), Update: sla.Hours(4 * time.Hour), Calendar: builtinCal(t, "24x7", chicago)},
			2: first(sla.Days(1)), 3: first(sla.Days(1)), 4: first(sla.Days(1)),
		},
		WarnAt: 0.5,
		Escalation: sla.Escalation{
			Warn:   []string{"terso-oncall"},
			Breach: []string{"terso-oncall", "support-lead"},
			Then:   []sla.EscalationStep{{After: time.Hour, To: []string{"support-manager"}}, {After: 4 * time.Hour, To: []string{"cto"}}},
		},
	}

	bestEffort := &sla.Plan{Name: "best-effort", Calendar: oslo, Priorities: every(first(sla.Days(3)))}
	list := []*sla.Agreement{
		{Name: "Jotron", Customers: []string{"jotron.com"}, Plan: jotron, Language: "nb"},
		emt("E-MetroTel Standard – Northwind", emtStandard, []string{"northwind.example"}, day(toronto, 2025, 1, 1), day(toronto, 2027, 1, 1)),
		emt("E-MetroTel Premium – Contoso", emtPremium, []string{"contoso.example"}, time.Time{}, time.Time{}),
		emt("E-MetroTel Premium Plus – Fabrikam NOC", emtPremiumPlus, []string{"noc@fabrikam.example"}, time.Time{}, time.Time{}),
		emt("E-MetroTel Premium – Tailspin", emtPremium, []string{"tailspin.example"}, day(toronto, 2024, 1, 1), day(toronto, 2026, 1, 1)),
		trinax("Trinax Alert!", trinaxPlan("trinax-alert", time.Hour), []string{"trinax.se"}),
		trinax("Trinax Attend! – Kund B", trinaxPlan("trinax-attend", 8*time.Hour), []string{"kundb.example"}),
		trinax("Trinax Access! – Kund C", trinaxPlan("trinax-access", 16*time.Hour), []string{"kundc.example"}),
		{Name: "Telekompetanse", Customers: []string{"telekompetanse.no"}, Plan: teleko, Language: "nb", ValidFrom: day(osloLoc, 2025, 1, 1)},
		{Name: "Terso", Customers: []string{"tersosolutions.com"}, Plan: terso, Language: "en",
			PriorityRules:        []sla.PriorityRule{{Pattern: regexp.MustCompile(`(?i)\b(?:urgent|down|outage)\b`), Priority: 1, SubjectOnly: true}},
			TrustPriorityHeaders: true},
	}
	ags, err := sla.NewAgreements(list, &sla.Agreement{Name: "default", Plan: bestEffort, Language: "en"})
	if err != nil {
		t.Fatal(err)
	}
	return &slaExamples{
		agreements: ags,
		oslo:       oslo,
		groups: map[string]ticket.EscalationGroup{
			"Support-Lead":    {Addresses: []string{leadAddr}, Calendar: oslo},
			"support-manager": {Addresses: []string{managerAddr}},
			"emt-oncall":      {Addresses: []string{emtOncallAddr}, Calendar: builtinCal(t, "24x7", toronto)},
			"emt-manager":     {Addresses: []string{emtManagerAddr}, Calendar: builtinCal(t, "9-5", toronto)},
			"emt-director":    {Addresses: []string{directorAddr}},
			"terso-oncall":    {Addresses: []string{tersoOncall}, Calendar: builtinCal(t, "24x7", chicago)},
			"cto":             {Addresses: []string{ctoAddr}},
		},
	}
}

// slaFixture is a desk with the example agreements on a real store, an
// injected clock and a scheduler driven by hand.
type slaFixture struct {
	t     *testing.T
	path  string
	db    *store.DB
	desk  *ticket.Desk
	sched *ticket.Scheduler
	clock *clock
	x     *slaExamples
	mod   func(*ticket.Options)
	kicks int
	fired []ticket.Fired
}

func newSLAFixture(t *testing.T, mod func(*ticket.Options)) *slaFixture {
	t.Helper()
	f := &slaFixture{t: t, path: filepath.Join(t.TempDir(), "hd.db"), clock: &clock{}, x: exampleSLA(t), mod: mod}
	f.open()
	return f
}

// open opens the store and builds desk and scheduler, as a (re)start does.
func (f *slaFixture) open() {
	t := f.t
	t.Helper()
	db, err := store.Open(f.path, store.Options{Now: f.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	o := ticket.Options{
		Store:            db,
		Support:          mailer.Address{Name: "Example Support", Addr: supportAddr},
		Agreements:       f.x.agreements,
		EscalationGroups: f.x.groups,
		Now:              f.clock.Now,
		Logger:           slog.New(slog.DiscardHandler),
		OnDeadlines:      func() { f.kicks++ },
	}
	if f.mod != nil {
		f.mod(&o)
	}
	d, err := ticket.NewDesk(o)
	if err != nil {
		t.Fatal(err)
	}
	f.db, f.desk = db, d
	f.sched = ticket.NewScheduler(d, ticket.SchedulerOptions{BatchSize: 2, OnFired: func(fs []ticket.Fired) { f.fired = append(f.fired, fs...) }})
}

// restart closes the store and opens it again.
func (f *slaFixture) restart() {
	f.t.Helper()
	if err := f.db.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.open()
}

func (f *slaFixture) setClock(at time.Time) {
	f.clock.mu.Lock()
	f.clock.t = at
	f.clock.mu.Unlock()
}

func supportAddress() mailer.Address {
	return mailer.Address{Name: "Example Support", Addr: supportAddr}
}

// slaMail is a customer's mail with a body.
func slaMail(from, subject, id, body string, date time.Time, extra ...string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: Support <%s>\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: %s\r\n", from, supportAddr, subject, id, date.Format(time.RFC1123Z))
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n") + "\r\n")
	return b.Bytes()
}

// receive takes in a mail at at.
func (f *slaFixture) receive(at time.Time, raw []byte) ticket.Decision {
	f.t.Helper()
	f.setClock(at)
	dec, err := f.desk.Receive(context.Background(), raw)
	if err != nil {
		f.t.Fatal(err)
	}
	return dec
}

func (f *slaFixture) ticket(id uint64) *ticket.Ticket {
	f.t.Helper()
	var tk *ticket.Ticket
	if err := f.db.View(func(tx ticket.Tx) (err error) { tk, err = tx.Ticket(id); return err }); err != nil {
		f.t.Fatal(err)
	}
	return tk
}

// queued returns the queued mails with one of the purposes, in order.
func (f *slaFixture) queued(purposes ...string) []*outMail {
	f.t.Helper()
	var out []*outMail
	if err := f.db.Outbox(func(env mailer.Envelope, failed bool) error {
		if len(purposes) == 0 || slices.Contains(purposes, env.Purpose) {
			m := parseOut(f.t, env)
			m.body = strings.ReplaceAll(m.body, "\r\n", "\n")
			out = append(out, m)
		}
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	slices.SortFunc(out, func(a, b *outMail) int { return int(a.env.ID) - int(b.env.ID) })
	return out
}

// next is the earliest entry of the deadline index.
func (f *slaFixture) next() (ticket.Deadline, bool) {
	f.t.Helper()
	var d ticket.Deadline
	var ok bool
	if err := f.db.View(func(tx ticket.Tx) (err error) { d, ok, err = tx.NextDeadline(); return err }); err != nil {
		f.t.Fatal(err)
	}
	return d, ok
}

// runUntil plays the scheduler's loop with the injected clock: wake at
// each deadline up to until and fire what is due.
func (f *slaFixture) runUntil(until time.Time) {
	f.t.Helper()
	for range 1000 {
		d, ok := f.next()
		if !ok || d.At.After(until) {
			f.setClock(until)
			return
		}
		f.setClock(d.At)
		if _, err := f.sched.RunDue(d.At); err != nil {
			f.t.Fatal(err)
		}
	}
	f.t.Fatal("the scheduler does not get past its deadlines")
}

// sent describes an escalation mail: when it was queued, why and to whom.
type sent struct {
	at      time.Time
	purpose string
	to      string
}

func (s sent) String() string {
	return fmt.Sprintf("%s %s to %s", s.at.Format(time.RFC3339), s.purpose, s.to)
}

func (f *slaFixture) escalations() []sent {
	f.t.Helper()
	var out []sent
	for _, m := range f.queued("sla-warn", "sla-breach", "sla-escalate") {
		out = append(out, sent{m.env.Created, m.env.Purpose, strings.Join(m.env.To, ",")})
	}
	return out
}
