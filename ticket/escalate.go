package ticket

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/templates"
)

// errWriteNeeded: a lookahead met a ticket that needs more than firing
// its events (it is gone, or its plan is); the write transaction handles it.
var errWriteNeeded = errors.New("ticket needs writing")

// softError is a failure to handle one ticket's events before anything of
// it was written: the scheduler sets the ticket aside and goes on.
type softError struct{ err error }

func (e *softError) Error() string { return e.err.Error() }
func (e *softError) Unwrap() error { return e.err }

// maxEventsPerTicket bounds the events one run fires for a ticket (a
// guard; a ticket has a handful).
const maxEventsPerTicket = 64

// lastMessageBytes caps the customer's message quoted in escalation mail.
const lastMessageBytes = 4000

// firing is the handling of one ticket's due events. It runs in three
// steps: prepareDue fires the events on the ticket in memory and gathers
// the data of the mails they send, reading the store but not writing it;
// compose renders and composes the mails, touching neither the store nor
// the ticket, so that the scheduler runs it on other goroutines while it
// prepares the next ticket; write then stores everything, and only when
// every mail could be composed.
type firing struct {
	due     Deadline // the index entry it handles
	d       *Desk
	tx      Tx
	t       *Ticket
	plan    *sla.Plan
	now     time.Time
	mails   []*escalationMail
	fired   []Fired
	last    *string  // the customer's last message, read once
	skipped []string // escalation entries that are neither address nor group

	done       chan struct{} // closed when compose has run (scheduler)
	composeErr error
}

// escalationMail is one mail a firing sends: what compose renders and
// composes, and the envelope it fills in.
type escalationMail struct {
	lang, name string
	data       templates.SLAAlert
	out        mailer.Outgoing // without Subject and Text
	env        mailer.Envelope // without Raw
}

// prepareDue loads the ticket of index entry dl and fires its events due
// at now on it in memory. It returns nil when there is nothing to
// compose: the ticket or its plan is gone (which it has then written
// down). A softError means nothing of the ticket was written. ahead
// (a lookahead in a read transaction) writes nothing and logs nothing: it
// returns errWriteNeeded where the ticket needs more than firing.
func (d *Desk) prepareDue(tx Tx, dl Deadline, now time.Time, ahead bool) (*firing, error) {
	id := dl.TicketID
	t, err := tx.Ticket(id)
	if ahead && err != nil {
		return nil, errWriteNeeded
	}
	if errors.Is(err, ErrNotFound) {
		d.log.Warn("sla: deadline of a ticket that does not exist; dropped", "ticket", id)
		return nil, tx.ClearDeadline(id)
	}
	if err != nil {
		return nil, &softError{err}
	}
	plan := d.planOf(t)
	if plan == nil && ahead {
		return nil, errWriteNeeded
	}
	if plan == nil {
		if t.SLA != nil && t.SLA.Plan != "" {
			d.log.Warn("sla: the ticket's plan is no longer configured; its deadlines are dropped", "case", t.Case, "plan", t.SLA.Plan)
			t.AddEvent(now, "sla", "plan "+t.SLA.Plan+" is no longer configured; deadlines dropped")
			if err := tx.PutTicket(t); err != nil {
				return nil, err
			}
		}
		return nil, tx.ClearDeadline(id)
	}
	f := &firing{due: dl, d: d, tx: tx, t: t, plan: plan, now: now}
	for range maxEventsPerTicket {
		e, ok := d.nextEvent(t, plan)
		if !ok || e.at.After(now) {
			break
		}
		if err := f.fire(e); err != nil {
			return nil, &softError{err}
		}
	}
	if e, ok := d.nextEvent(t, plan); ok && !e.at.After(now) {
		return nil, &softError{fmt.Errorf("more than %d SLA events due at once", maxEventsPerTicket)}
	}
	return f, nil
}

// compose renders and composes f's mails.
func (f *firing) compose() error {
	for _, m := range f.mails {
		r, err := templates.Render(m.lang, m.name, m.data)
		if err != nil {
			return err
		}
		m.out.Subject, m.out.Text = r.Subject, r.Body
		if m.env.Raw, err = mailer.Compose(&m.out); err != nil {
			return err
		}
	}
	return nil
}

// write queues f's composed mails, files the ticket's next event and
// stores the ticket.
func (f *firing) write() ([]Fired, error) {
	tx, t := f.tx, f.t
	for _, e := range f.skipped {
		f.d.log.Warn("sla: escalation entry is neither an address nor a group; skipped", "case", t.Case, "entry", e)
	}
	for _, m := range f.mails {
		// No thread index entry: the subject starts with the case tag,
		// which is how an engineer's answer to it finds the case, and a
		// random Message-ID key would cost a page write per mail.
		env := &m.env
		if err := tx.Enqueue(env); err != nil {
			return nil, err
		}
		t.AddEvent(f.now, env.Purpose+"-queued", "to "+strings.Join(env.To, ", ")+", "+env.MessageID)
	}
	if err := f.d.updateDeadline(tx, t); err != nil {
		return nil, err
	}
	if err := tx.PutTicket(t); err != nil {
		return nil, err
	}
	return f.fired, nil
}

// fire handles one due event.
func (f *firing) fire(e slaEvent) error {
	c, st := e.clock, f.t.SLA
	fd := Fired{TicketID: f.t.ID, Case: f.t.Case, Promise: c.Promise, Kind: e.kind}
	var err error
	switch e.kind {
	case DeadlineWarn:
		c.Warned = f.now
		f.t.AddEvent(f.now, "sla-warning", fmt.Sprintf("%s due %s", c.Promise, c.Due.Format(time.RFC3339)))
		// A warning that comes as late as the breach says less than the
		// breach mail; only that goes out.
		if c.Due.After(f.now) {
			err = f.route(e.at, DeadlineWarn, c, 0, f.plan.Escalation.Warn, &fd)
		}
	case DeadlineBreach:
		c.Breached = f.now
		f.t.AddEvent(f.now, "sla-breach", fmt.Sprintf("%s was due %s", c.Promise, c.Due.Format(time.RFC3339)))
		err = f.route(e.at, DeadlineBreach, c, 0, f.plan.Escalation.Breach, &fd)
	case DeadlineEscalate:
		c.Steps++
		fd.Step = c.Steps
		f.t.AddEvent(f.now, "sla-escalation", fmt.Sprintf("%s step %d", c.Promise, c.Steps))
		err = f.route(e.at, DeadlineEscalate, c, c.Steps, f.plan.Escalation.Then[c.Steps-1].To, &fd)
	case DeadlineMail:
		m := e.mail
		st.Mails = slices.DeleteFunc(st.Mails, func(x *HeldMail) bool { return x == m })
		fd.Step = m.Step
		if m.Kind == DeadlineWarn && !c.Breached.IsZero() {
			return nil // the breach mail has superseded it
		}
		fd.Mailed, err = f.send(m.Kind, c, m.Step, m.To)
	default:
		return fmt.Errorf("unknown SLA event %q", e.kind)
	}
	if err != nil {
		return err
	}
	f.fired = append(f.fired, fd)
	return nil
}

// route sends an escalation mail due at at to entries: at once to those
// whose office hours it falls into, and held until their next opening for
// the others. Priority 1 tickets and plans that count around the clock do
// not wait.
func (f *firing) route(at time.Time, kind DeadlineKind, c *Clock, step int, entries []string, fd *Fired) error {
	prio := f.t.Priority
	urgent := prio == sla.HighestPriority || f.plan.CalendarFor(prio).AlwaysOpen()
	var now []string
	held := map[time.Time][]string{}
	for _, e := range entries {
		send := at
		if !urgent {
			cal := f.plan.CalendarFor(prio)
			if g, ok := f.d.recipient(e); ok && g.Calendar != nil {
				cal = g.Calendar
			}
			send = withinHours(cal, at)
		}
		if send.After(f.now) {
			held[send] = append(held[send], e)
		} else {
			now = append(now, e)
		}
	}
	var err error
	if fd.Mailed, err = f.send(kind, c, step, now); err != nil {
		return err
	}
	for _, when := range slices.SortedFunc(maps.Keys(held), time.Time.Compare) {
		f.t.SLA.Mails = append(f.t.SLA.Mails, &HeldMail{At: when, Kind: kind, Promise: c.Promise, Step: step, To: held[when]})
		if fd.HeldUntil.IsZero() {
			fd.HeldUntil = when
		}
	}
	return nil
}

// withinHours returns at when it lies in cal's opening hours — the
// closing instant included, so a deadline at 16:00 is told at 16:00 —
// and the next opening otherwise.
func withinHours(cal *sla.Calendar, at time.Time) time.Time {
	if cal.IsOpen(at) || cal.IsOpen(at.Add(-time.Nanosecond)) {
		return at
	}
	return cal.NextOpen(at)
}

// send prepares one escalation mail to entries (compose composes it)
// and returns the addresses.
func (f *firing) send(kind DeadlineKind, c *Clock, step int, entries []string) ([]string, error) {
	var to []string
	for _, e := range entries {
		g, ok := f.d.recipient(e)
		if !ok {
			f.skipped = append(f.skipped, e) // logged when written
			continue
		}
		for _, a := range g.Addresses {
			if a = strings.ToLower(strings.TrimSpace(a)); a != "" && !slices.Contains(to, a) {
				to = append(to, a)
			}
		}
	}
	if len(to) == 0 {
		return nil, nil
	}
	name, purpose := "sla-breach", "sla-breach"
	switch kind {
	case DeadlineWarn:
		name, purpose = "sla-warn", "sla-warn"
	case DeadlineEscalate:
		purpose = "sla-escalate"
	}
	lang := f.d.o.DefaultLanguage
	if f.d.o.EngineerLanguage != "" {
		lang = f.d.o.EngineerLanguage
	}
	cal := f.plan.CalendarFor(f.t.Priority)
	m := &escalationMail{lang: lang, name: name}
	m.data = templates.SLAAlert{
		Case:        f.t.Case,
		Tag:         Tag(f.t.Case),
		Subject:     f.t.Subject,
		Customer:    f.t.Customer,
		Agreement:   f.t.Agreement,
		Plan:        f.plan.Name,
		Priority:    f.t.Priority,
		Promise:     cachedPromiseLabel(lang, c.Promise),
		Target:      c.Target,
		Deadline:    FormatDeadline(lang, c.Due, cal.Location),
		Step:        step,
		SupportName: f.d.o.Support.Name,
	}
	if c.Due.After(f.now) {
		m.data.Left = businessDuration(cal.Between(f.now, c.Due))
	} else {
		m.data.Overdue = businessDuration(cal.Between(c.Due, f.now))
	}
	last, err := f.lastMessage()
	if err != nil {
		return nil, err
	}
	m.data.LastMessage = last
	id := f.d.newMessageID(f.t.Case)
	rcpt := make([]mailer.Address, len(to))
	for i, a := range to {
		rcpt[i] = mailer.Address{Addr: a}
	}
	m.out = mailer.Outgoing{
		From:          f.d.o.Support,
		To:            rcpt,
		MessageID:     id,
		Date:          f.now,
		AutoSubmitted: mailer.AutoGenerated,
		LoopID:        f.d.o.LoopID,
		Headers:       map[string]string{"X-Helpdeskd-Case": f.t.Case, "X-Helpdeskd-SLA": string(kind) + " " + string(c.Promise)},
	}
	m.env = mailer.Envelope{
		From:        f.d.o.Support.Addr,
		To:          to,
		Purpose:     purpose,
		Case:        f.t.Case,
		MessageID:   id,
		Created:     f.now,
		NextAttempt: f.now,
	}
	f.mails = append(f.mails, m)
	return to, nil
}

// historyNewestFirst is implemented by stores whose Tx can read a
// ticket's history from the newest entry (the bbolt store's can), so that
// finding the customer's last message decodes one entry or a few rather
// than the whole history.
type historyNewestFirst interface {
	// EntriesNewestFirst calls fn for ticketID's entries, newest first,
	// until fn returns false.
	EntriesNewestFirst(ticketID uint64, fn func(*Entry) bool) error
}

// lastMessage is the text of the customer's latest mail, shortened, and
// indented as a quote.
func (f *firing) lastMessage() (string, error) {
	if f.last != nil {
		return *f.last, nil
	}
	isCustomers := func(e *Entry) bool { return e.Direction == Inbound && !e.Note && e.Author == "" }
	var last *Entry
	if h, ok := f.tx.(historyNewestFirst); ok {
		err := h.EntriesNewestFirst(f.t.ID, func(e *Entry) bool {
			if isCustomers(e) {
				last = e
			}
			return last == nil
		})
		if err != nil {
			return "", err
		}
	} else {
		es, err := f.tx.Entries(f.t.ID)
		if err != nil {
			return "", err
		}
		for i := len(es) - 1; i >= 0 && last == nil; i-- {
			if isCustomers(es[i]) {
				last = es[i]
			}
		}
	}
	text := ""
	if last != nil {
		text = strings.TrimSpace(last.Text)
		if len(text) > lastMessageBytes {
			text = truncateUTF8(text, lastMessageBytes) + " […]"
		}
	}
	if text != "" {
		var b strings.Builder
		b.Grow(len(text) + len(text)/16 + 8)
		for line := range strings.Lines(text) {
			b.WriteString("> ")
			b.WriteString(line)
		}
		text = strings.TrimRight(b.String(), "\n")
	}
	f.last = &text
	return text, nil
}

// promiseLabels caches promiseLabel, which builds its tables on every
// call, for the scheduler's hot path.
var promiseLabels sync.Map // promiseLabelKey → string

type promiseLabelKey struct {
	lang    string
	promise sla.Promise
}

func cachedPromiseLabel(lang string, p sla.Promise) string {
	k := promiseLabelKey{lang, p}
	if v, ok := promiseLabels.Load(k); ok {
		return v.(string)
	}
	l := promiseLabel(lang, p)
	promiseLabels.Store(k, l)
	return l
}
