package mailer

import (
	"context"
	"time"
)

// Fetched is one mail taken from a mailbox by Intake.
type Fetched struct {
	UID          uint32
	Raw          []byte
	Size         int64 // RFC822.SIZE as reported by the server
	Truncated    bool  // only the first MaxSize bytes were fetched
	InternalDate time.Time
}

// Batch is a run of mails fetched from one mailbox, in UID order.
type Batch struct {
	Mailbox     string
	UIDValidity uint32
	Mails       []Fetched

	// base is what Intake puts into the checkpoint beyond the mails: a
	// LastUID past mails it leaves alone on purpose (such a batch may
	// hold no mail at all) and the state of the first scan (see
	// IntakeOptions.InitialScan). A Handler that changes a batch must
	// change a copy of it, not build a new one, or this is lost.
	base Checkpoint
}

// Checkpoint returns the checkpoint that covers every mail in b.
func (b Batch) Checkpoint() Checkpoint {
	c := b.base
	c.UIDValidity = b.UIDValidity
	for _, m := range b.Mails {
		if m.UID > c.LastUID {
			c.LastUID = m.UID
		}
	}
	return c
}

// Handler durably commits a batch together with b.Checkpoint(). Only after
// it returns nil does Intake flag the mails \Seen or move them. An error
// leaves the mails untouched in IMAP; Intake retries them later. A batch
// without mails only moves the checkpoint and must be committed all the
// same.
type Handler func(ctx context.Context, b Batch) error

// Checkpoints reads the last committed checkpoint of a mailbox; a mailbox
// never seen returns the zero Checkpoint and no error.
type Checkpoints interface {
	Checkpoint(mailbox string) (Checkpoint, error)
}
