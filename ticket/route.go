package ticket

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/mailer"
)

// DedupeKey identifies one mail across re-reads: the same Message-ID with
// the same body is the same mail, whatever its UID. (Message-IDs alone are
// not unique in the wild: some clients reuse them.)
func DedupeKey(m *mailer.Message) string {
	h := sha256.Sum256([]byte(m.MessageID + "\x00" + m.BodyHash))
	return hex.EncodeToString(h[:])
}

// route decides what one mail does, inside the batch's transaction.
func (d *Desk) route(tx Tx, m *mailer.Message, now time.Time) (Decision, error) {
	dec := Decision{MessageID: m.MessageID, From: m.From.Addr, Kind: m.Kind}
	if !m.Date.IsZero() && now.After(m.Date) {
		dec.Lag = now.Sub(m.Date)
	}

	// Only mail that is provably ours is dropped: our loop header with
	// our own value, or our own From address.
	if m.LoopID != "" && m.LoopID == d.o.LoopID {
		dec.Action, dec.Reason = ActionDropped, "loop"
		return dec, nil
	}
	if d.own[m.From.Addr] {
		dec.Action, dec.Reason = ActionDropped, "from-own-address"
		return dec, nil
	}

	key := DedupeKey(m)
	if id, ok, err := tx.Seen(key); err != nil {
		return dec, err
	} else if ok {
		dec.Action, dec.TicketID = ActionDuplicate, id
		if t, err := tx.Ticket(id); err == nil {
			dec.Case = t.Case
		}
		return dec, nil
	}

	eng, isEngineer, spoofed := d.engineerOf(m)
	if isEngineer {
		return d.engineerMail(tx, m, eng, now, key, dec)
	}
	if spoofed != "" {
		dec.Spoofed = spoofed
		d.log.Warn("mail from an engineer address failed authentication; handled as a customer's",
			"from", m.From.Addr, "msgid", m.MessageID, "why", spoofed)
	}

	t, reason, err := d.match(tx, m, now)
	if err != nil {
		return dec, err
	}
	if t == nil {
		t, err = d.open(tx, m, now, reason)
		if err != nil {
			return dec, err
		}
		dec.Action = ActionNew
	} else {
		dec.Action = ActionFollowUp
		was := t.State
		reason = d.followUp(t, m, now)
		// SLA: a customer's answer restarts clocks stopped by pending.
		if err := d.slaCustomerReplied(tx, t, was, m, now); err != nil {
			return dec, err
		}
	}
	dec.TicketID, dec.Case, dec.Reason = t.ID, t.Case, reason

	if err := d.record(tx, t, m, now, key); err != nil {
		return dec, err
	}
	if dec.Action == ActionNew {
		if why := d.ackBlocked(tx, m, now); why != "" {
			dec.AckSuppressed = why
			t.AddEvent(now, "ack-suppressed", why)
		} else {
			if err := d.queueAck(tx, t, m, now); err != nil {
				return dec, fmt.Errorf("queue acknowledgement: %w", err)
			}
			dec.Ack = true
		}
	}
	if err := d.notifyEngineers(tx, t, m, dec.Action == ActionNew, now); err != nil {
		return dec, fmt.Errorf("notify engineers: %w", err)
	}
	if err := tx.PutTicket(t); err != nil {
		return dec, err
	}
	return dec, nil
}

// match finds the ticket a mail belongs to, or returns nil and the reason a
// new ticket is opened ("" for an ordinary new request).
func (d *Desk) match(tx Tx, m *mailer.Message, now time.Time) (*Ticket, string, error) {
	if n, ok := d.tagger.Find(m.Subject); ok {
		t, err := tx.Ticket(n)
		if errors.Is(err, ErrNotFound) {
			return nil, "unknown-tag " + d.tagger.Case(n), nil
		}
		if err != nil {
			return nil, "", err
		}
		return d.admit(t, m, now)
	}
	t, err := d.threaded(tx, m)
	if err != nil || t == nil {
		return nil, "", err
	}
	return d.admit(t, m, now)
}

// threaded finds the ticket of the newest Message-ID m refers to that we
// know: In-Reply-To, then References from the end. Both our own mail and
// customers' are indexed.
func (d *Desk) threaded(tx Tx, m *mailer.Message) (*Ticket, error) {
	refs := append([]string(nil), m.InReplyTo...)
	for i := len(m.References) - 1; i >= 0; i-- {
		refs = append(refs, m.References[i])
	}
	for _, ref := range refs {
		id, err := tx.ThreadTicket(ref)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return tx.Ticket(id)
	}
	return nil, nil
}

// admit decides whether m may join t. A stranger who carries a ticket's tag
// or threading headers — someone outside the ticket and outside the
// customer's organisation — gets a new ticket that links to it instead, so
// nobody can read or steer another customer's case by guessing its number.
// A closed ticket is never reopened by mail, nor is a resolved one after
// the reopen window: a new ticket links to it.
func (d *Desk) admit(t *Ticket, m *mailer.Message, now time.Time) (*Ticket, string, error) {
	if !d.related(t, m.From.Addr) {
		return nil, "foreign-tag " + t.Case, nil
	}
	if t.State == StateClosed {
		return nil, "closed-ticket " + t.Case, nil
	}
	if t.State == StateResolved && !t.ResolvedAt.IsZero() && now.Sub(t.ResolvedAt) > d.o.ReopenWindow {
		return nil, "closed-ticket " + t.Case, nil
	}
	return t, "", nil
}

// related reports whether addr may take part in t: a participant, or an
// address of the customer's own mail domain (colleagues). Public mail
// providers are not organisations, so their domains do not count.
func (d *Desk) related(t *Ticket, addr string) bool {
	if addr == "" {
		return false
	}
	if t.HasParticipant(addr) {
		return true
	}
	dom := domainOf(addr)
	return dom != "" && dom == domainOf(t.Customer) && !freemail[dom]
}

// open creates a new ticket for m.
func (d *Desk) open(tx Tx, m *mailer.Message, now time.Time, reason string) (*Ticket, error) {
	n, err := tx.NextCaseNumber()
	if err != nil {
		return nil, fmt.Errorf("next case number: %w", err)
	}
	t := &Ticket{
		ID:       n,
		Case:     d.tagger.Case(n),
		Subject:  d.tagger.CleanSubject(m.Subject),
		Customer: m.From.Addr,
		State:    StateNew,
		Priority: DefaultPriority,
		Language: d.language(m.From.Addr),
		Created:  now,
		Updated:  now,
	}
	d.addParticipants(t, m)
	t.AddEvent(now, "created", "from "+m.From.Addr)
	if strings.HasPrefix(reason, "foreign-tag ") || strings.HasPrefix(reason, "closed-ticket ") {
		t.LinkedTo = reason[strings.IndexByte(reason, ' ')+1:]
		t.AddEvent(now, "linked", reason)
	} else if reason != "" {
		t.AddEvent(now, "note", reason)
	}
	// SLA: agreement, priority, required fields and deadlines.
	if err := d.startSLA(tx, t, m, now); err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	return t, nil
}

// followUp applies a mail that joins t and returns what it changed.
func (d *Desk) followUp(t *Ticket, m *mailer.Message, now time.Time) string {
	d.addParticipants(t, m)
	reason := ""
	if t.State == StateResolved || t.State == StatePending {
		if t.State == StateResolved {
			reason = "reopened"
		} else {
			reason = "customer-replied"
		}
		t.AddEvent(now, string(StateOpen), "was "+string(t.State)+": reply from "+m.From.Addr)
		t.State = StateOpen
	}
	t.AddEvent(now, "reply", "from "+m.From.Addr)
	return reason
}

// addParticipants adds the sender and every non-support address on the
// mail: customers copy colleagues in, and those colleagues may answer.
func (d *Desk) addParticipants(t *Ticket, m *mailer.Message) {
	t.AddParticipant(m.From.Addr)
	for _, list := range [][]mailer.Address{m.ReplyTo, m.To, m.Cc} {
		for _, a := range list {
			if a.Addr != "" && !d.own[a.Addr] && strings.Contains(a.Addr, "@") {
				t.AddParticipant(a.Addr)
			}
		}
	}
}

// record stores the raw mail and its history entry and indexes its IDs.
func (d *Desk) record(tx Tx, t *Ticket, m *mailer.Message, now time.Time, key string) error {
	if err := tx.PutRaw(key, m.Raw); err != nil {
		return fmt.Errorf("store raw mail: %w", err)
	}
	e := &Entry{
		Direction:   Inbound,
		MessageID:   m.MessageID,
		From:        m.From.Addr,
		To:          addrs(m.To, m.Cc),
		Subject:     m.Subject,
		Date:        m.Date,
		Received:    now,
		Kind:        string(m.Kind),
		Text:        truncateUTF8(m.Text, d.o.MaxTextBytes),
		Attachments: len(m.Attachments),
		ParseError:  m.ParseError,
		Truncated:   m.Truncated,
		RawKey:      key,
	}
	if err := tx.AddEntry(t.ID, e); err != nil {
		return fmt.Errorf("store message: %w", err)
	}
	t.MessageCount++
	if m.ParseError != "" {
		t.addFlag("parse-error")
	}
	if m.Truncated {
		t.addFlag("oversize")
		t.AddEvent(now, "oversize", fmt.Sprintf("mail of %d bytes kept in part; the whole mail stays in the mailbox", m.Size))
	}
	if m.Kind == mailer.KindNormal {
		t.LastInbound = m.MessageID
	}
	if err := tx.MarkSeen(key, t.ID); err != nil {
		return err
	}
	return d.thread(tx, m.MessageID, t.ID)
}

// thread indexes a Message-ID for threading. The first ticket to claim an
// ID keeps it: clients that reuse IDs must not pull later mail elsewhere.
func (d *Desk) thread(tx Tx, msgID string, id uint64) error {
	if msgID == "" {
		return nil
	}
	if _, err := tx.ThreadTicket(msgID); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return tx.PutThread(msgID, id)
}

func (t *Ticket) addFlag(f string) {
	for _, x := range t.Flags {
		if x == f {
			return
		}
	}
	t.Flags = append(t.Flags, f)
}

func (d *Desk) language(addr string) string {
	if l, ok := d.o.LanguageByDomain[domainOf(addr)]; ok {
		return l
	}
	return d.o.DefaultLanguage
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(addr[at+1:])
}

func addrs(lists ...[]mailer.Address) []string {
	var out []string
	for _, l := range lists {
		for _, a := range l {
			if a.Addr != "" {
				out = append(out, a.Addr)
			}
		}
	}
	return out
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// freemail are public mail providers: two of their users share a domain
// but not an organisation.
var freemail = map[string]bool{
	"gmail.com": true, "googlemail.com": true, "outlook.com": true, "hotmail.com": true,
	"live.com": true, "msn.com": true, "yahoo.com": true, "ymail.com": true, "icloud.com": true,
	"me.com": true, "aol.com": true, "gmx.de": true, "gmx.net": true, "web.de": true,
	"proton.me": true, "protonmail.com": true, "yandex.ru": true, "mail.ru": true,
	"qq.com": true, "163.com": true, "126.com": true, "online.no": true, "hotmail.no": true,
}
