package mailer

import "time"

// Envelope is one queued outgoing mail: SMTP envelope plus the complete
// RFC 5322 bytes, composed once when queued and sent unchanged on every
// attempt so that a retry is byte-identical (same Message-ID).
type Envelope struct {
	ID          uint64    `json:"id"`
	From        string    `json:"from"` // envelope sender (MAIL FROM)
	To          []string  `json:"to"`   // envelope recipients (RCPT TO)
	Raw         []byte    `json:"raw"`
	Purpose     string    `json:"purpose"` // "ack", "notify", … for logs and metrics
	Case        string    `json:"case,omitempty"`
	MessageID   string    `json:"message_id"`
	Created     time.Time `json:"created"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
}

// Queue is the persistent outbox the Sender drains. The store implements it.
type Queue interface {
	// Next returns the queued envelope with the earliest NextAttempt, or
	// ok == false when the queue is empty.
	Next() (env Envelope, ok bool, err error)
	// Delivered removes a sent envelope from the queue.
	Delivered(id uint64, at time.Time) error
	// Deferred records a temporary failure and when to try again.
	Deferred(id uint64, attempts int, next time.Time, reason string) error
	// Failed records a permanent failure and removes the envelope from the
	// queue of pending mail (it is kept for inspection).
	Failed(id uint64, attempts int, reason string) error
}

// Checkpoint is how far intake got in one mailbox. It is committed in the
// same transaction as the mails it covers.
type Checkpoint struct {
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
	// InitialUID is the highest UID the mailbox held when intake first
	// read it and left older mail alone (IntakeOptions.InitialScan
	// "unseen" or "none"); zero when intake took every mail. Mails at or
	// below it that intake did not take are never flagged or moved.
	InitialUID uint32 `json:"initial_uid,omitempty"`
	// Scanning marks the first scan as unfinished: of the mails above
	// LastUID and at or below InitialUID, only those without \Seen are
	// still to be taken.
	Scanning bool `json:"scanning,omitempty"`
}
