package ticket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
)

// Options configures a Desk. The zero value of each optional field is
// documented and sensible; Store and Support are required.
type Options struct {
	Store   Store
	Support mailer.Address // the support address our mail comes from
	// OwnAddresses are further addresses of ours. Mail from them is never
	// taken as a customer's and never answered.
	OwnAddresses []string
	// CasePrefix of case tags. Zero: "HD".
	CasePrefix string
	// LoopID is the value of mailer.LoopHeader on our mail. Zero: the
	// support address.
	LoopID string
	// Hostname is the right-hand side of our Message-IDs. Zero: the domain
	// of the support address.
	Hostname string
	// AckPerSenderPerHour caps acknowledgements to one sender. Zero: 5.
	AckPerSenderPerHour int
	// AckGlobalPerHour caps acknowledgements to everyone. Zero: 500.
	AckGlobalPerHour int
	// NoReplyPatterns are local-part substrings of senders that never get
	// automatic mail. Nil: DefaultNoReplyPatterns.
	NoReplyPatterns []string
	// DefaultLanguage of customer mail. Zero: "en".
	DefaultLanguage string
	// LanguageByDomain maps a customer's mail domain to a language.
	LanguageByDomain map[string]string
	// MaxTextBytes caps the text kept per message in the history (the raw
	// mail is always kept whole). Zero: 256 KiB.
	MaxTextBytes int
	// Engineers answer tickets by mail. Mail from their addresses is
	// theirs only if it passes the TrustAuthServID check (when set).
	Engineers []Engineer
	// NotifyAddresses get every new ticket and customer follow-up (an
	// engineer list or a group address). Zero: every engineer.
	NotifyAddresses []string
	// NotifyFor, when set and non-empty for a ticket, overrides
	// NotifyAddresses (e.g. per agreement).
	NotifyFor func(t *Ticket) []string
	// NotesAddress, when set (e.g. support+note@example.com), makes every
	// engineer mail sent to it an internal note.
	NotesAddress string
	// TrustAuthServID, when set, is the authserv-id of our own MTA: an
	// engineer's mail must carry its Authentication-Results (topmost) with
	// dkim=pass aligned to the From domain, or dmarc=pass.
	TrustAuthServID string
	// EngineerLanguage of mail to engineers. Zero: DefaultLanguage.
	EngineerLanguage string
	// ReopenWindow is how long after resolution a customer reply reopens a
	// ticket; later replies open a new ticket linked to it. Zero: 14 days.
	ReopenWindow time.Duration
	// OnStateChange and OnResponse let the SLA code follow the ticket's
	// clock: a state change (from is the old state) and a reply relayed to
	// the customer. They run inside the transaction.
	OnStateChange func(tx Tx, t *Ticket, from State, at time.Time) error
	OnResponse    func(tx Tx, t *Ticket, at time.Time) error
	// SLA (sla.go). Agreements, when set, gives every new ticket the
	// agreement, plan, priority and deadlines of its sender; nil: no SLA.
	// The Desk then follows the clocks itself (OnStateChange and
	// OnResponse still run after it).
	Agreements *sla.Agreements
	// EscalationGroups names the lists of people a plan's escalation
	// entries may name, by case-insensitive name; an entry with an '@' is
	// an address.
	EscalationGroups map[string]EscalationGroup
	// NotCoveredReply answers senders no agreement names, when there is no
	// default agreement, with the not-covered mail instead of the
	// acknowledgement. (Senders whose agreement is not in force always
	// get it.)
	NotCoveredReply bool
	// OnDeadlines, when set, is called after each commit that may have
	// changed the deadline index: wire it to Scheduler.Kick.
	OnDeadlines func()
	// Now is the clock. Zero: time.Now.
	Now    func() time.Time
	Logger *slog.Logger // zero: slog.Default()
	// OnDecision, when set, is called once for every mail after the
	// transaction that recorded it committed (metrics hook).
	OnDecision func(Decision)
}

// DefaultNoReplyPatterns are sender local parts that are never answered.
var DefaultNoReplyPatterns = []string{"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply", "do_not_reply", "mailer-daemon", "postmaster", "bounce"}

// Action says what the Desk did with an inbound mail.
type Action string

// Actions.
const (
	ActionNew       Action = "new"       // opened a new ticket
	ActionFollowUp  Action = "follow-up" // joined an existing ticket
	ActionDuplicate Action = "duplicate" // already taken in; nothing changed
	ActionDropped   Action = "dropped"   // ours or a loop; recorded nowhere but the log
)

// Decision is the outcome for one inbound mail.
type Decision struct {
	UID       uint32
	MessageID string
	From      string
	Kind      mailer.Kind
	Action    Action
	TicketID  uint64
	Case      string
	// Reason explains drops, links and reopenings, e.g. "loop",
	// "foreign-tag HD-000007", "reopened".
	Reason string
	// Ack is set when an acknowledgement was queued; AckSuppressed names
	// why not, for new tickets that got none.
	Ack           bool
	AckSuppressed string
	Lag           time.Duration // mail Date → committed; 0 when Date unknown
	// Spoofed is set when the mail came from an engineer's address but
	// failed authentication; it says why. Such mail is a customer's.
	Spoofed string
}

// Desk routes inbound mail to tickets and queues the mail that answers it.
type Desk struct {
	o         Options
	tagger    *Tagger
	own       map[string]bool
	engineers map[string]Engineer
	log       *slog.Logger
	sl        slaDesk // SLA (sla.go)
}

// NewDesk checks o and returns a Desk.
func NewDesk(o Options) (*Desk, error) {
	if o.Store == nil {
		return nil, errors.New("ticket: Options.Store is required")
	}
	o.Support.Addr = strings.ToLower(strings.TrimSpace(o.Support.Addr))
	at := strings.LastIndexByte(o.Support.Addr, '@')
	if at <= 0 || at == len(o.Support.Addr)-1 {
		return nil, fmt.Errorf("ticket: Options.Support.Addr %q is not a mail address", o.Support.Addr)
	}
	if o.CasePrefix == "" {
		o.CasePrefix = "HD"
	}
	if o.LoopID == "" {
		o.LoopID = o.Support.Addr
	}
	if o.Hostname == "" {
		o.Hostname = o.Support.Addr[at+1:]
	}
	if o.AckPerSenderPerHour == 0 {
		o.AckPerSenderPerHour = 5
	}
	if o.AckGlobalPerHour == 0 {
		o.AckGlobalPerHour = 500
	}
	if o.NoReplyPatterns == nil {
		o.NoReplyPatterns = DefaultNoReplyPatterns
	}
	if o.DefaultLanguage == "" {
		o.DefaultLanguage = "en"
	}
	if o.MaxTextBytes == 0 {
		o.MaxTextBytes = 256 << 10
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.EngineerLanguage == "" {
		o.EngineerLanguage = o.DefaultLanguage
	}
	if o.ReopenWindow == 0 {
		o.ReopenWindow = 14 * 24 * time.Hour
	}
	o.NotesAddress = strings.ToLower(strings.TrimSpace(o.NotesAddress))
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	own := map[string]bool{o.Support.Addr: true}
	for _, a := range o.OwnAddresses {
		own[strings.ToLower(strings.TrimSpace(a))] = true
	}
	if o.NotesAddress != "" {
		own[o.NotesAddress] = true
	}
	engineers := map[string]Engineer{}
	for _, e := range o.Engineers {
		e.Addr = strings.ToLower(strings.TrimSpace(e.Addr))
		if e.Name == "" {
			e.Name = e.Addr
		}
		if own[e.Addr] {
			return nil, fmt.Errorf("ticket: engineer %s uses one of the support addresses", e.Addr)
		}
		engineers[e.Addr] = e
	}
	if len(o.NotifyAddresses) == 0 {
		for _, e := range o.Engineers {
			o.NotifyAddresses = append(o.NotifyAddresses, strings.ToLower(strings.TrimSpace(e.Addr)))
		}
	}
	d := &Desk{o: o, tagger: NewTagger(o.CasePrefix), own: own, engineers: engineers, log: o.Logger}
	if err := d.initSLA(); err != nil { // SLA (sla.go)
		return nil, err
	}
	return d, nil
}

// Tagger returns the Desk's case tagger.
func (d *Desk) Tagger() *Tagger { return d.tagger }

// ReceiveBatch takes in a batch fetched by intake: every mail is parsed and
// routed, and all of it — raw mails, messages, tickets, outbox entries and
// the mailbox checkpoint — is committed in one transaction. It has the
// signature of a mailer.Handler.
func (d *Desk) ReceiveBatch(ctx context.Context, b mailer.Batch) error {
	msgs := make([]*mailer.Message, len(b.Mails))
	for i, f := range b.Mails {
		msgs[i] = mailer.Parse(f.Raw)
		msgs[i].Truncated = f.Truncated
		if f.Size > msgs[i].Size {
			msgs[i].Size = f.Size
		}
	}
	ds, err := d.receive(ctx, msgs, func(tx Tx) error {
		if b.Mailbox == "" {
			return nil
		}
		return tx.SetCheckpoint(b.Mailbox, b.Checkpoint())
	})
	if err != nil {
		return err
	}
	for i := range ds {
		ds[i].UID = b.Mails[i].UID
	}
	d.report(ds)
	return nil
}

// Receive takes in one mail outside of intake (tests, the admin CLI).
func (d *Desk) Receive(ctx context.Context, raw []byte) (Decision, error) {
	ds, err := d.receive(ctx, []*mailer.Message{mailer.Parse(raw)}, nil)
	if err != nil {
		return Decision{}, err
	}
	d.report(ds)
	return ds[0], nil
}

func (d *Desk) receive(ctx context.Context, msgs []*mailer.Message, also func(Tx) error) ([]Decision, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ds []Decision
	err := d.o.Store.Update(func(tx Tx) error {
		ds = ds[:0]
		now := d.o.Now()
		for _, m := range msgs {
			dec, err := d.route(tx, m, now)
			if err != nil {
				return fmt.Errorf("mail %s from %s: %w", m.MessageID, m.From.Addr, err)
			}
			ds = append(ds, dec)
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	d.deadlinesChanged() // SLA: kick the scheduler after the commit
	return ds, nil
}

// report logs each decision once it is durable and calls the hook.
func (d *Desk) report(ds []Decision) {
	for _, dec := range ds {
		attrs := []any{"action", dec.Action, "msgid", dec.MessageID, "from", dec.From, "kind", dec.Kind}
		if dec.UID != 0 {
			attrs = append(attrs, "uid", dec.UID)
		}
		if dec.Case != "" {
			attrs = append(attrs, "case", dec.Case)
		}
		if dec.Reason != "" {
			attrs = append(attrs, "reason", dec.Reason)
		}
		switch {
		case dec.Ack:
			attrs = append(attrs, "ack", "queued")
		case dec.AckSuppressed != "":
			attrs = append(attrs, "ack", "suppressed", "ack_reason", dec.AckSuppressed)
		}
		level := slog.LevelInfo
		if dec.Action == ActionDuplicate {
			level = slog.LevelDebug
		}
		d.log.Log(context.Background(), level, "mail taken in", attrs...)
		if d.o.OnDecision != nil {
			d.o.OnDecision(dec)
		}
	}
}
