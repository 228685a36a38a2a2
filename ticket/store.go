package ticket

import (
	"errors"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
)

// ErrNotFound is returned by Tx lookups that find nothing.
var ErrNotFound = errors.New("not found")

// Store is what the Desk needs from persistence. Update runs fn in one
// durable read-write transaction: either everything fn did is committed or
// nothing is. View runs fn in a read-only snapshot.
type Store interface {
	Update(fn func(Tx) error) error
	View(fn func(Tx) error) error
}

// Tx is one transaction. Write methods fail on a read-only Tx.
type Tx interface {
	// NextCaseNumber returns a fresh, never reused case number (1, 2, …).
	NextCaseNumber() (uint64, error)

	Ticket(id uint64) (*Ticket, error) // ErrNotFound
	PutTicket(t *Ticket) error
	// ForEachTicket calls fn for each ticket in ID order until fn returns
	// an error (which is returned).
	ForEachTicket(fn func(*Ticket) error) error

	// AddEntry appends a message to a ticket's history, setting e.Seq.
	AddEntry(ticketID uint64, e *Entry) error
	Entries(ticketID uint64) ([]*Entry, error)

	// PutRaw stores raw mail bytes under key (compressed); Raw reads them.
	PutRaw(key string, raw []byte) error
	Raw(key string) ([]byte, error) // ErrNotFound

	// ThreadTicket maps a Message-ID (ours or a customer's) to its ticket.
	ThreadTicket(messageID string) (uint64, error) // ErrNotFound
	PutThread(messageID string, ticketID uint64) error

	// Seen reports whether a mail with this dedupe key (Message-ID + body
	// hash) was already taken in, and into which ticket.
	Seen(key string) (ticketID uint64, ok bool, err error)
	MarkSeen(key string, ticketID uint64) error

	// Enqueue adds an outgoing mail to the outbox, setting env.ID.
	Enqueue(env *mailer.Envelope) error

	// Checkpoint / SetCheckpoint keep intake's place per mailbox.
	Checkpoint(mailbox string) (mailer.Checkpoint, error)
	SetCheckpoint(mailbox string, c mailer.Checkpoint) error

	// RateWindow returns the automatic replies counted for key (a sender
	// address, or "*" for all); SetRateWindow stores it, and an empty
	// window deletes the key.
	RateWindow(key string) (RateWindow, error)
	SetRateWindow(key string, w RateWindow) error

	// The deadline index (SLA, see Deadline in scheduler.go) holds at most
	// one entry per ticket: its next SLA event. SetDeadline files
	// d.TicketID at d.At, replacing its entry if it has one;
	// ClearDeadline removes it (no entry is no error).
	SetDeadline(d Deadline) error
	ClearDeadline(ticketID uint64) error
	// DueDeadlines returns up to limit entries with At <= until, earliest
	// first (ties by ticket ID). NextDeadline returns the earliest entry;
	// ok is false when the index is empty.
	DueDeadlines(until time.Time, limit int) ([]Deadline, error)
	NextDeadline() (d Deadline, ok bool, err error)

	// Marks record what must happen at most once (an hour bank's warn mail
	// per agreement and period, a sent report), in the same transaction
	// as the mail it stands for. Mark files key at at and reports whether
	// it was new; Marked reads it; Unmark deletes it (none is no error).
	Mark(key string, at time.Time) (fresh bool, err error)
	Marked(key string) (at time.Time, ok bool, err error)
	Unmark(key string) error

	// Counters are named running totals kept in the transaction that
	// changes what they sum (an hour bank's minutes per period,
	// hourcount.go). Counter reads one (ok is false when it was never
	// set); SetCounter writes it.
	Counter(key string) (n int64, ok bool, err error)
	SetCounter(key string, n int64) error

	// Timers are named due times that outlive restarts, for work that is
	// not a ticket's (the next agreement report, reportsend.go): one
	// entry per name. SetTimer files t, replacing the entry of t.Name;
	// ClearTimer removes one (none is no error); Timer reads one (ok is
	// false when there is none). Timers lists those whose name starts
	// with prefix, by name. DueTimers returns up to limit (all if limit
	// <= 0) of them with At <= until, earliest first (ties by name);
	// NextTimer returns the earliest of them. At comes back in UTC.
	SetTimer(t Timer) error
	ClearTimer(name string) error
	Timer(name string) (t Timer, ok bool, err error)
	Timers(prefix string) ([]Timer, error)
	DueTimers(prefix string, until time.Time, limit int) ([]Timer, error)
	NextTimer(prefix string) (t Timer, ok bool, err error)
}

// Timer is a named due time in the store. Its owner chooses the name
// ("report/Jotron/year") and keeps in Payload what it needs when the time
// comes (the period to report).
type Timer struct {
	Name    string
	At      time.Time
	Payload string
}
