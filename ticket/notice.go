package ticket

import (
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
)

// Proactive notices (a maintenance window, a known outage) go from the
// support address to the contacts of chosen agreements: one mail per
// agreement (customer organisation), each recorded as a ticket of its own
// so that the customer's replies thread to it like any case.

// Notice is a proactive notice's text.
type Notice struct {
	Subject string
	Body    string
}

// NoticeRecipients returns the lower-case contacts of ag; none means the
// agreement gets no notice.
func NoticeRecipients(ag *sla.Agreement) []string { return lowerAll(ag.Contacts) }

// SendNotice opens one ticket per agreement that has contacts and queues
// the notice to them, with the case tag in the subject. It returns the
// tickets opened (the caller's transaction stores them).
func (d *Desk) SendNotice(tx Tx, ags []*sla.Agreement, n Notice, now time.Time) ([]*Ticket, error) {
	if strings.TrimSpace(n.Subject) == "" || strings.TrimSpace(n.Body) == "" {
		return nil, fmt.Errorf("notice: subject and body must not be empty")
	}
	var opened []*Ticket
	for _, ag := range ags {
		to := NoticeRecipients(ag)
		if len(to) == 0 {
			continue
		}
		id, err := tx.NextCaseNumber()
		if err != nil {
			return nil, fmt.Errorf("notice to %q: %w", ag.Name, err)
		}
		t := &Ticket{ID: id, Case: d.tagger.Case(id), Subject: n.Subject, Customer: to[0], Participants: to,
			State: StatePending, Priority: DefaultPriority, Language: nonEmpty(ag.Language, d.o.DefaultLanguage),
			Created: now, Updated: now, Agreement: ag.Name}
		t.AddEvent(now, "created", "proactive notice to agreement "+ag.Name)
		msgID := d.newMessageID(t.Case)
		subject := Tag(t.Case) + " " + n.Subject
		out := &mailer.Outgoing{From: d.o.Support, Subject: subject, Text: n.Body, MessageID: msgID, Date: now,
			LoopID: d.o.LoopID, Headers: map[string]string{"X-Helpdeskd-Case": t.Case}}
		for _, a := range to {
			out.To = append(out.To, mailer.Address{Addr: a})
		}
		raw, err := mailer.Compose(out)
		if err != nil {
			return nil, fmt.Errorf("notice to %q: %w", ag.Name, err)
		}
		env := &mailer.Envelope{From: d.o.Support.Addr, To: to, Raw: raw, Purpose: "notice", Case: t.Case, MessageID: msgID, Created: now, NextAttempt: now}
		if err := tx.PutTicket(t); err != nil {
			return nil, err
		}
		if err := tx.Enqueue(env); err != nil {
			return nil, err
		}
		if err := tx.PutThread(msgID, t.ID); err != nil {
			return nil, err
		}
		if err := tx.AddEntry(t.ID, &Entry{Direction: Outbound, MessageID: msgID, From: d.o.Support.Addr, To: to,
			Subject: subject, Date: now, Received: now, Purpose: "notice", Text: n.Body}); err != nil {
			return nil, err
		}
		t.MessageCount++
		t.AddEvent(now, "notice-queued", fmt.Sprintf("to %s, %s", strings.Join(to, ", "), msgID))
		if err := tx.PutTicket(t); err != nil {
			return nil, err
		}
		opened = append(opened, t)
	}
	return opened, nil
}
