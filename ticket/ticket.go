package ticket

import (
	"fmt"
	"time"
)

// State is where a ticket is in its life.
type State string

// Ticket states. New until an engineer first acts; Pending while waiting for
// the customer (the SLA clock stops); Resolved until the customer confirms or
// the reopen window passes; Closed for good (a reply opens a new ticket).
const (
	StateNew      State = "new"
	StateOpen     State = "open"
	StatePending  State = "pending"
	StateResolved State = "resolved"
	StateClosed   State = "closed"
)

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	switch s {
	case StateNew, StateOpen, StatePending, StateResolved, StateClosed:
		return true
	}
	return false
}

// DefaultPriority is given to tickets nothing else sets a priority for.
const DefaultPriority = 3

// Ticket is one case. Its ID is its case number.
type Ticket struct {
	ID           uint64    `json:"id"`
	Case         string    `json:"case"` // "HD-000042", the tag without brackets and '#'
	Subject      string    `json:"subject"`
	Customer     string    `json:"customer"` // address of the customer who opened it
	Participants []string  `json:"participants"`
	State        State     `json:"state"`
	Priority     int       `json:"priority"`
	Language     string    `json:"language"`
	Created      time.Time `json:"created"`
	Updated      time.Time `json:"updated"`
	// LinkedTo names a ticket this one was split from, e.g. when a stranger
	// used an existing case tag.
	LinkedTo string `json:"linked_to,omitempty"`
	// LastInbound is the Message-ID of the customer's latest mail, which our
	// replies thread to; OurMessageIDs are the IDs of mails we sent.
	LastInbound  string   `json:"last_inbound,omitempty"`
	Flags        []string `json:"flags,omitempty"` // e.g. "oversize", "parse-error"
	Events       []Event  `json:"events"`
	MessageCount int      `json:"message_count"`

	// Engineers' side (engineer mail, #commands).
	Assignee   string      `json:"assignee,omitempty"`
	TimeLog    []TimeEntry `json:"time_log,omitempty"`
	ResolvedAt time.Time   `json:"resolved_at,omitzero"`
	// NotifyRoot is the Message-ID of the first notification to engineers;
	// later ones thread under it.
	NotifyRoot string `json:"notify_root,omitempty"`
	// Agreement names the support agreement that covers the ticket, and
	// ResponseBy states the first-response promise in the ticket's
	// language ("" when none); both are set by the SLA code on creation.
	Agreement  string `json:"agreement,omitempty"`
	ResponseBy string `json:"response_by,omitempty"`
	// SLA is the ticket's service level and clocks (sla.go); nil when the
	// Desk has no agreements.
	SLA *SLAState `json:"sla,omitempty"`
}

// TimeEntry is work logged on a ticket with #time.
type TimeEntry struct {
	At       time.Time `json:"at"`
	Engineer string    `json:"engineer"`
	Minutes  int       `json:"minutes"`
}

// AgreementName names the covering agreement, or "none".
func (t *Ticket) AgreementName() string { return nonEmpty(t.Agreement, "none") }

// ResponseByText is the first-response promise, or "".
func (t *Ticket) ResponseByText() string { return t.ResponseBy }

// Event is one thing that happened to a ticket, for its history.
type Event struct {
	At     time.Time `json:"at"`
	What   string    `json:"what"` // "created", "reply", "reopened", "ack-sent", "ack-suppressed", …
	Detail string    `json:"detail,omitempty"`
}

// AddEvent appends an event and bumps Updated.
func (t *Ticket) AddEvent(at time.Time, what, detail string) {
	t.Events = append(t.Events, Event{At: at, What: what, Detail: detail})
	if at.After(t.Updated) {
		t.Updated = at
	}
}

// HasParticipant reports whether addr (lower-case) takes part in t.
func (t *Ticket) HasParticipant(addr string) bool {
	for _, p := range t.Participants {
		if p == addr {
			return true
		}
	}
	return false
}

// AddParticipant adds addr unless present.
func (t *Ticket) AddParticipant(addr string) {
	if addr != "" && !t.HasParticipant(addr) {
		t.Participants = append(t.Participants, addr)
	}
}

// FormatCase renders a case number with a prefix: "HD-000042".
func FormatCase(prefix string, n uint64) string {
	return fmt.Sprintf("%s-%06d", prefix, n)
}

// Tag is the form a case takes in a subject: "[#HD-000042]".
func Tag(caseID string) string { return "[#" + caseID + "]" }

// Direction of a stored message.
type Direction string

// Directions.
const (
	Inbound  Direction = "in"
	Outbound Direction = "out"
)

// Entry is one mail of a ticket's history as stored (the raw bytes live
// apart, under RawKey).
type Entry struct {
	Seq         uint32    `json:"seq"`
	Direction   Direction `json:"direction"`
	MessageID   string    `json:"message_id"`
	From        string    `json:"from"`
	To          []string  `json:"to,omitempty"`
	Subject     string    `json:"subject"`
	Date        time.Time `json:"date"`
	Received    time.Time `json:"received"`
	Kind        string    `json:"kind,omitempty"`
	Purpose     string    `json:"purpose,omitempty"` // outbound: "ack", …
	Text        string    `json:"text"`
	Attachments int       `json:"attachments,omitempty"`
	ParseError  string    `json:"parse_error,omitempty"`
	Truncated   bool      `json:"truncated,omitempty"`
	RawKey      string    `json:"raw_key,omitempty"`
	// Note marks an engineer's internal note, never shown to a customer;
	// Author names the engineer who wrote a mail.
	Note   bool   `json:"note,omitempty"`
	Author string `json:"author,omitempty"`
}
