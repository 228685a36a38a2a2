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
// customer organisation, each recorded as a ticket of its own so that the
// customer's replies thread to it like any case. An organisation is a
// contact's mail domain — except at public mail providers, where each
// address is its own — so a customer under two agreements, or named
// twice, gets the notice once, and an agreement whose contacts are at two
// companies (a reseller and its customer) reaches each on its own ticket.

// Notice is a proactive notice's text.
type Notice struct {
	Subject string
	Body    string
}

// NoticeGroup is one customer organisation a notice goes to.
type NoticeGroup struct {
	// Organisation is the contacts' domain, or the address at a public
	// mail provider.
	Organisation string
	// Agreement is the first of the chosen agreements that lists the
	// organisation's contacts; the ticket is filed under it.
	Agreement *sla.Agreement
	To        []string // lower case, each once
}

// NoticeGroups groups the contacts of ags by organisation, in the order
// the agreements and their contacts are given. Agreements without
// contacts add nothing.
func NoticeGroups(ags []*sla.Agreement) []NoticeGroup {
	var groups []NoticeGroup
	at := map[string]int{} // organisation → index in groups
	seen := map[string]bool{}
	for _, ag := range ags {
		for _, a := range lowerAll(ag.Contacts) {
			if seen[a] {
				continue
			}
			seen[a] = true
			org := domainOf(a)
			if org == "" || freemail[org] {
				org = a
			}
			i, ok := at[org]
			if !ok {
				i = len(groups)
				at[org] = i
				groups = append(groups, NoticeGroup{Organisation: org, Agreement: ag})
			}
			groups[i].To = append(groups[i].To, a)
		}
	}
	return groups
}

// SendNotice opens one ticket per group and queues the notice to its
// contacts, with the case tag in the subject. It returns the tickets
// opened, in the order of groups.
func (d *Desk) SendNotice(tx Tx, groups []NoticeGroup, n Notice, now time.Time) ([]*Ticket, error) {
	if strings.TrimSpace(n.Subject) == "" || strings.TrimSpace(n.Body) == "" {
		return nil, fmt.Errorf("notice: subject and body must not be empty")
	}
	var opened []*Ticket
	for _, g := range groups {
		ag, to := g.Agreement, g.To
		if len(to) == 0 {
			continue
		}
		id, err := tx.NextCaseNumber()
		if err != nil {
			return nil, fmt.Errorf("notice to %s: %w", g.Organisation, err)
		}
		t := &Ticket{ID: id, Case: d.tagger.Case(id), Subject: n.Subject, Customer: to[0], Participants: to,
			State: StatePending, Priority: DefaultPriority, Language: nonEmpty(ag.Language, d.o.DefaultLanguage),
			Created: now, Updated: now, Agreement: ag.Name}
		t.AddEvent(now, "created", "proactive notice to "+g.Organisation+" (agreement "+ag.Name+")")
		msgID := d.newMessageID(t.Case)
		subject := Tag(t.Case) + " " + n.Subject
		out := &mailer.Outgoing{From: d.o.Support, Subject: subject, Text: n.Body, MessageID: msgID, Date: now,
			LoopID: d.o.LoopID, Headers: map[string]string{"X-Helpdeskd-Case": t.Case}}
		for _, a := range to {
			out.To = append(out.To, mailer.Address{Addr: a})
		}
		raw, err := mailer.Compose(out)
		if err != nil {
			return nil, fmt.Errorf("notice to %s: %w", g.Organisation, err)
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
