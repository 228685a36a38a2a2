package ticket

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/templates"
)

// Reasons an acknowledgement is not sent. They appear in logs, ticket
// events and the acks_suppressed metric.
const (
	SuppressAutoReply  = "auto-reply"
	SuppressBounce     = "bounce"
	SuppressList       = "list"
	SuppressNoSender   = "no-sender"
	SuppressNoReply    = "noreply-sender"
	SuppressOwnAddress = "own-address"
	SuppressSenderCap  = "sender-rate-cap"
	SuppressGlobalCap  = "global-rate-cap"
)

// ackBlocked returns why m must not get an automatic answer, or "". It
// counts the answer against the rate caps when it returns "".
func (d *Desk) ackBlocked(tx Tx, m *mailer.Message, now time.Time) string {
	switch m.Kind {
	case mailer.KindAutoReply:
		return SuppressAutoReply
	case mailer.KindBounce:
		return SuppressBounce
	case mailer.KindList:
		return SuppressList
	}
	to := m.ReplyAddress().Addr
	if to == "" || !strings.Contains(to, "@") {
		return SuppressNoSender
	}
	if d.own[to] {
		return SuppressOwnAddress
	}
	local := to[:strings.LastIndexByte(to, '@')]
	for _, p := range d.o.NoReplyPatterns {
		if p != "" && strings.Contains(local, p) {
			return SuppressNoReply
		}
	}
	sender, err := tx.RateWindow(to)
	if err != nil || sender.Count(now) >= d.o.AckPerSenderPerHour {
		return SuppressSenderCap
	}
	global, err := tx.RateWindow("*")
	if err != nil || global.Count(now) >= d.o.AckGlobalPerHour {
		return SuppressGlobalCap
	}
	sender.Add(now)
	global.Add(now)
	if tx.SetRateWindow(to, sender) != nil || tx.SetRateWindow("*", global) != nil {
		return SuppressGlobalCap
	}
	return ""
}

// queueAck composes the acknowledgement of a new ticket and puts it in the
// outbox, in the same transaction as the ticket.
func (d *Desk) queueAck(tx Tx, t *Ticket, m *mailer.Message, now time.Time) error {
	to := m.ReplyAddress()
	if d.notCoveredReply(t) { // SLA: no agreement in force (sla.go)
		return d.queueNotCovered(tx, t, m, now, to)
	}
	responseBy, missing := d.ackSLA(t) // SLA: deadline and missing fields
	r, err := templates.Render(t.Language, "ack", templates.Ack{
		Case:          t.Case,
		Tag:           Tag(t.Case),
		Subject:       t.Subject,
		CustomerName:  to.Name,
		SupportName:   d.o.Support.Name,
		ResponseBy:    responseBy,
		MissingFields: missing,
		Truncated:     m.Truncated,
	})
	if err != nil {
		return err
	}
	return d.queueMail(tx, t, m, now, "ack", to, r, "auto-replied")
}

// queueMail composes one mail to a customer in reply to m and queues it.
func (d *Desk) queueMail(tx Tx, t *Ticket, m *mailer.Message, now time.Time, purpose string, to mailer.Address, r templates.Rendered, autoSubmitted string) error {
	id := d.newMessageID(t.Case)
	out := &mailer.Outgoing{
		From:          d.o.Support,
		To:            []mailer.Address{to},
		Subject:       r.Subject,
		Text:          r.Body,
		MessageID:     id,
		Date:          now,
		AutoSubmitted: autoSubmitted,
		LoopID:        d.o.LoopID,
		Headers:       map[string]string{"X-Helpdeskd-Case": t.Case},
	}
	if m != nil && !m.DerivedID {
		out.InReplyTo = m.MessageID
		out.References = append(append([]string(nil), m.References...), m.MessageID)
	}
	raw, err := mailer.Compose(out)
	if err != nil {
		return err
	}
	env := &mailer.Envelope{
		From:        d.o.Support.Addr,
		To:          []string{to.Addr},
		Raw:         raw,
		Purpose:     purpose,
		Case:        t.Case,
		MessageID:   id,
		Created:     now,
		NextAttempt: now,
	}
	if err := tx.Enqueue(env); err != nil {
		return err
	}
	if err := tx.PutThread(id, t.ID); err != nil {
		return err
	}
	if err := tx.AddEntry(t.ID, &Entry{
		Direction: Outbound,
		MessageID: id,
		From:      d.o.Support.Addr,
		To:        []string{to.Addr},
		Subject:   r.Subject,
		Date:      now,
		Received:  now,
		Purpose:   purpose,
		Text:      r.Body,
	}); err != nil {
		return err
	}
	t.MessageCount++
	t.AddEvent(now, purpose+"-queued", fmt.Sprintf("to %s, %s", to.Addr, id))
	return nil
}

// newMessageID makes a unique Message-ID that names the case, so that even
// a reply that drops the tag and the References still shows where it
// belongs in logs.
func (d *Desk) newMessageID(caseID string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s.%d.%s@%s", strings.ToLower(caseID), d.o.Now().UnixNano(), hex.EncodeToString(b[:]), d.o.Hostname)
}
