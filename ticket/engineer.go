package ticket

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/templates"
)

// Engineer-side Actions.
const (
	ActionRelayed  Action = "relayed"  // an engineer's reply went to the customer
	ActionNote     Action = "note"     // an internal note, kept and sent to the other engineers
	ActionCommands Action = "commands" // only #commands: applied, nothing relayed
	ActionRejected Action = "rejected" // engineer mail that changed nothing; the engineer was told why
)

// maxRelayAttachments caps the files passed on in one relayed mail or
// notification; the raw mail always keeps them all.
const maxRelayAttachments = 20 << 20

// engineerOf returns the engineer who sent m. A mail from an engineer's
// address that fails the authentication check is not an engineer's:
// spoofed is then set, and the mail is handled as a customer's.
func (d *Desk) engineerOf(m *mailer.Message) (eng Engineer, ok bool, spoofed string) {
	e, known := d.engineers[m.From.Addr]
	if !known {
		return Engineer{}, false, ""
	}
	if d.o.TrustAuthServID != "" {
		if pass, why := authVerdict(m, d.o.TrustAuthServID); !pass {
			return Engineer{}, false, why
		}
	}
	return e, true, ""
}

// engineerMail handles a mail from an authenticated engineer: commands,
// an internal note, or a reply relayed to the customer.
func (d *Desk) engineerMail(tx Tx, m *mailer.Message, eng Engineer, now time.Time, key string, dec Decision) (Decision, error) {
	if err := tx.MarkSeen(key, 0); err != nil {
		return dec, err
	}
	t, err := d.engineerTicket(tx, m)
	if err != nil {
		return dec, err
	}
	if m.Kind != mailer.KindNormal {
		// An engineer's out-of-office answering a notification must never
		// reach the customer, nor cause mail of its own.
		dec.Action, dec.Reason = ActionRejected, "engineer-"+string(m.Kind)
		return dec, nil
	}
	if t == nil {
		dec.Action, dec.Reason = ActionRejected, "no-case"
		r, err := templates.Render(d.o.EngineerLanguage, "no-case", templates.NoCase{Subject: m.Subject, CommandHelp: CommandHelp})
		if err != nil {
			return dec, err
		}
		return dec, d.queueInternal(tx, nil, m, now, "no-case", []string{eng.Addr}, internalBody{Rendered: r})
	}
	dec.TicketID, dec.Case = t.ID, t.Case

	cmds, body, errs := ParseCommands(m.Text)
	note := d.isNotesMail(m)
	if len(cmds) > 0 && cmds[0].Name == "note" {
		note, cmds = true, cmds[1:]
	}
	var done []string
	if len(errs) == 0 {
		if done, errs, err = d.applyCommands(tx, t, cmds, eng, now); err != nil {
			return dec, err
		}
	}
	if len(errs) > 0 {
		// Nothing changes: not the ticket, not the customer's inbox.
		dec.Action, dec.Reason = ActionRejected, "command-error"
		var list []string
		for _, e := range errs {
			list = append(list, e.Error())
		}
		r, err := templates.Render(d.o.EngineerLanguage, "command-error", templates.CommandError{
			Case: t.Case, Tag: Tag(t.Case), Subject: t.Subject, Errors: list, CommandHelp: CommandHelp,
		})
		if err != nil {
			return dec, err
		}
		return dec, d.queueInternal(tx, t, m, now, "command-error", []string{eng.Addr}, internalBody{Rendered: r})
	}

	text := StripQuoted(body)
	e := &Entry{
		Direction: Inbound, MessageID: m.MessageID, From: eng.Addr, Author: eng.Name,
		Subject: m.Subject, Date: m.Date, Received: now, Kind: string(m.Kind),
		Text: truncateUTF8(text, d.o.MaxTextBytes), Attachments: len(m.Attachments), Note: note, RawKey: key,
	}
	switch {
	case note:
		dec.Action = ActionNote
		if err := d.storeEngineerMail(tx, t, m, e, key); err != nil {
			return dec, err
		}
		t.AddEvent(now, "note", "by "+eng.Name)
		if err := d.queueNote(tx, t, m, eng, text, now); err != nil {
			return dec, err
		}
	case text != "":
		dec.Action = ActionRelayed
		if err := d.storeEngineerMail(tx, t, m, e, key); err != nil {
			return dec, err
		}
		if err := d.relay(tx, t, m, eng, text, now); err != nil {
			return dec, err
		}
	default:
		dec.Action = ActionCommands
		t.AddEvent(now, "commands", "by "+eng.Name)
	}
	if len(done) > 0 {
		r, err := templates.Render(d.o.EngineerLanguage, "confirm", templates.Confirm{
			Case: t.Case, Tag: Tag(t.Case), Subject: t.Subject, Done: done,
			State: string(t.State), Priority: t.Priority, Assignee: t.Assignee,
		})
		if err != nil {
			return dec, err
		}
		if err := d.queueInternal(tx, t, m, now, "confirm", []string{eng.Addr}, internalBody{Rendered: r}); err != nil {
			return dec, err
		}
	}
	dec.Reason = strings.Join(done, "; ")
	return dec, tx.PutTicket(t)
}

// engineerTicket finds the ticket an engineer's mail is about: the case tag,
// else the threading headers (our notifications are indexed). Engineers may
// act on any ticket.
func (d *Desk) engineerTicket(tx Tx, m *mailer.Message) (*Ticket, error) {
	if n, ok := d.tagger.Find(m.Subject); ok {
		t, err := tx.Ticket(n)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return t, err
	}
	return d.threaded(tx, m)
}

func (d *Desk) isNotesMail(m *mailer.Message) bool {
	if d.o.NotesAddress == "" {
		return false
	}
	for _, l := range [][]mailer.Address{m.To, m.Cc} {
		for _, a := range l {
			if a.Addr == d.o.NotesAddress {
				return true
			}
		}
	}
	return false
}

func (d *Desk) storeEngineerMail(tx Tx, t *Ticket, m *mailer.Message, e *Entry, key string) error {
	if err := tx.PutRaw(key, m.Raw); err != nil {
		return err
	}
	if err := tx.AddEntry(t.ID, e); err != nil {
		return err
	}
	t.MessageCount++
	if err := tx.MarkSeen(key, t.ID); err != nil {
		return err
	}
	return d.thread(tx, m.MessageID, t.ID)
}

// applyCommands changes t as the commands say, all or nothing: every
// command is checked first, and only when all of them can be carried out
// are they applied (the SLA hooks write to the deadline index, which a
// later failure could not take back).
func (d *Desk) applyCommands(tx Tx, t *Ticket, cmds []Command, eng Engineer, now time.Time) (done []string, errs []error, err error) {
	assignees := map[int]Engineer{}
	for i, c := range cmds {
		switch c.Name {
		case "status":
			if t.State == StateClosed && c.State != StateClosed {
				errs = append(errs, fmt.Errorf("%q: the ticket is closed; a customer reply opens a new one", c.Line))
			}
		case "assign":
			who, ok := d.engineerByName(c.Args[0], eng)
			if !ok {
				errs = append(errs, fmt.Errorf("%q: no engineer called %q; use a name or address from the engineer list, or me", c.Line, c.Args[0]))
			}
			assignees[i] = who
		case "cc":
			if !c.Remove && (d.own[c.Address] || d.isEngineer(c.Address)) {
				errs = append(errs, fmt.Errorf("%q: %s is one of our own addresses", c.Line, c.Address))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs, nil
	}
	// From here on a failure is the store's, not the engineer's: it fails
	// the whole transaction.
	was := t.State
	for i, c := range cmds {
		switch c.Name {
		case "status":
			if err := d.changeState(tx, t, c.State, now, eng.Name); err != nil {
				return nil, nil, err
			}
			done = append(done, "status "+string(c.State))
		case "priority":
			if err := d.SetPriority(tx, t, c.Priority, now); err != nil {
				return nil, nil, err
			}
			done = append(done, fmt.Sprintf("priority %d", c.Priority))
		case "assign":
			t.Assignee = assignees[i].Name
			t.AddEvent(now, "assigned", t.Assignee+" by "+eng.Name)
			done = append(done, "assigned to "+t.Assignee)
		case "time":
			e := TimeEntry{At: now, Engineer: eng.Name, Minutes: int(c.Minutes / time.Minute)}
			t.TimeLog = append(t.TimeLog, e)
			t.AddEvent(now, "time", fmt.Sprintf("%s by %s", c.Minutes, eng.Name))
			if ag := d.agreementNamed(t.Agreement); ag != nil && ag.HourBank.Per != "" {
				if err := countTime(tx, ag, t, e); err != nil {
					return nil, nil, err
				}
			}
			done = append(done, "logged "+formatWork(c.Minutes))
			if bank, err := d.afterTimeLogged(tx, t, now); err != nil {
				return nil, nil, err
			} else if bank != "" {
				done = append(done, bank)
			}
		case "cc":
			if c.Remove {
				t.removeParticipant(c.Address)
				done = append(done, "removed "+c.Address+" from the participants")
			} else {
				t.AddParticipant(c.Address)
				done = append(done, "added "+c.Address+" to the participants")
			}
			t.AddEvent(now, "cc", c.Line+" by "+eng.Name)
		}
	}
	if t.State == StateResolved && was != StateResolved {
		if err := d.queueResolved(tx, t, now); err != nil {
			return nil, nil, err
		}
	}
	return done, nil, nil
}

// changeState moves t to s. A ticket that an engineer answers or changes is
// no longer new.
func (d *Desk) changeState(tx Tx, t *Ticket, s State, now time.Time, by string) error {
	if t.State == s {
		return nil
	}
	if t.State == StateClosed {
		return errors.New("the ticket is closed; a customer reply opens a new one")
	}
	from := t.State
	t.State = s
	if s == StateResolved {
		t.ResolvedAt = now
	}
	t.AddEvent(now, string(s), fmt.Sprintf("was %s; by %s", from, by))
	if d.o.OnStateChange != nil {
		return d.o.OnStateChange(tx, t, from, now)
	}
	return nil
}

func (d *Desk) engineerByName(name string, self Engineer) (Engineer, bool) {
	name = strings.TrimSpace(name)
	if strings.EqualFold(name, "me") {
		return self, true
	}
	for _, e := range d.o.Engineers {
		if strings.EqualFold(e.Name, name) || strings.EqualFold(e.Addr, name) {
			return e, true
		}
	}
	return Engineer{}, false
}

func (d *Desk) isEngineer(addr string) bool {
	_, ok := d.engineers[addr]
	return ok
}

func (t *Ticket) removeParticipant(addr string) {
	kept := t.Participants[:0]
	for _, p := range t.Participants {
		if p != addr {
			kept = append(kept, p)
		}
	}
	t.Participants = kept
}

func formatWork(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}
