package mailer

import (
	"context"
	"fmt"

	"github.com/emersion/go-imap/v2"
)

// InitialScan says which of the mail a mailbox already holds Intake takes
// when it first reads the mailbox.
type InitialScan string

// The first-contact policies of Intake.
const (
	// InitialScanUnseen takes the mails without \Seen, what a person has
	// not read yet, and leaves the others alone.
	InitialScanUnseen InitialScan = "unseen"
	// InitialScanAll takes every mail: years of old mail become tickets.
	InitialScanAll InitialScan = "all"
	// InitialScanNone takes nothing that is there already, only mail
	// that arrives from then on.
	InitialScanNone InitialScan = "none"
)

// How the first scan stays correct across crashes: the checkpoint carries
// it. Every commit after first contact records InitialUID, the highest UID
// the mailbox held then. "none" commits one batch without mails that moves
// LastUID to InitialUID at once. "unseen" delivers the unseen mails at or
// below InitialUID in UID order, each batch moving LastUID to its own last
// mail and marking the scan unfinished (Scanning); once they are all
// committed and flagged, a batch without mails moves LastUID to InitialUID
// and clears the mark. While the mark is set, the next check, in this
// process or after a restart, goes on with UID SEARCH UNSEEN over
// LastUID+1:InitialUID: the seen mails are skipped again, nothing is lost
// and nothing comes twice. At or below LastUID of an unfinished scan a
// mail still unseen was delivered and not flagged because the process
// died (or is one a person marked unread again meanwhile), so recovery
// settles those; once the scan is finished recovery never looks at or
// below InitialUID again, where "none" leaves unread mail unread. Mail
// above InitialUID arrived after first contact and is always taken, read
// or not.

// batchPlan is one Handler call to make: the mails to fetch and deliver,
// and the checkpoint beyond them (Batch.base).
type batchPlan struct {
	metas []mailMeta
	base  Checkpoint
	// always commits the batch even when none of its mails is left to
	// deliver: the checkpoint must still move past the mails left alone.
	always bool
}

// resume returns where intake stands in the selected mailbox: the stored
// checkpoint, or this process's last commit when that is further (a
// Handler whose commit is not yet visible through Checkpoints must not get
// the same batch twice). known is false on first contact: nothing was
// committed under this UIDVALIDITY.
func (in *Intake) resume(stored Checkpoint, uidValidity uint32) (cp Checkpoint, known bool) {
	switch stored.UIDValidity {
	case uidValidity:
		cp, known = stored, true
	case 0: // never read this mailbox
	default:
		if in.rescanWarned != uidValidity {
			in.rescanWarned = uidValidity
			how := "reading the mailbox as on first contact"
			if in.o.InitialScan == InitialScanAll {
				how = "re-reading the whole mailbox; the handler drops mails it already has"
			}
			in.log.Warn("UIDVALIDITY changed, "+how, "initial_scan", in.o.InitialScan,
				"old_uidvalidity", stored.UIDValidity, "uidvalidity", uidValidity, "old_last_uid", stored.LastUID)
		}
	}
	if in.mark.UIDValidity == uidValidity && (!known || in.mark.LastUID > cp.LastUID) {
		cp, known = in.mark, true
	}
	return cp, known
}

// planCheck plans the delivery of what is new after cp.
func (in *Intake) planCheck(ctx context.Context, s *imapSession, cp Checkpoint) ([]batchPlan, error) {
	metas, err := s.listNew(ctx, cp.LastUID)
	if err != nil {
		return nil, err
	}
	in.log.Debug("imap check", "after_uid", cp.LastUID, "new", len(metas))
	if !cp.Scanning {
		return in.batches(metas, Checkpoint{InitialUID: cp.InitialUID}), nil
	}
	plans, taken, left, err := in.planScan(ctx, s, cp, metas)
	if err != nil {
		return nil, err
	}
	in.log.Info(fmt.Sprintf("resuming the first scan of mailbox %s: taking %d more unseen mails, leaving %d alone", in.o.Mailbox, taken, left),
		"unseen", taken, "left_alone", left, "after_uid", cp.LastUID, "through_uid", cp.InitialUID)
	return plans, nil
}

// planFirstContact plans the first reading of the selected mailbox as
// InitialScan says.
func (in *Intake) planFirstContact(ctx context.Context, s *imapSession) ([]batchPlan, error) {
	metas, err := s.listNew(ctx, 0)
	if err != nil {
		return nil, err
	}
	var high uint32
	if len(metas) > 0 {
		high = metas[len(metas)-1].uid
	}
	attrs := []any{"initial_scan", in.o.InitialScan, "uidvalidity", s.uidValidity, "through_uid", high}
	switch {
	case in.o.InitialScan == InitialScanAll:
		// As every later check, only without a commit of its own: an
		// empty mailbox is simply met again next time.
		if len(metas) > 0 {
			in.log.Info(fmt.Sprintf("first contact with mailbox %s: taking all %d mails", in.o.Mailbox, len(metas)), attrs...)
		}
		return in.batches(metas, Checkpoint{}), nil
	case in.o.InitialScan == InitialScanNone || high == 0:
		// One commit records the place, so that mail arriving later is
		// taken even when intake restarts before it comes.
		in.log.Info(fmt.Sprintf("first contact with mailbox %s: %d mails left alone, taking only mail that arrives from now on", in.o.Mailbox, len(metas)),
			append(attrs, "left_alone", len(metas))...)
		return []batchPlan{{base: Checkpoint{LastUID: high, InitialUID: high}, always: true}}, nil
	}
	plans, taken, left, err := in.planScan(ctx, s, Checkpoint{UIDValidity: s.uidValidity, InitialUID: high, Scanning: true}, metas)
	if err != nil {
		return nil, err
	}
	in.log.Info(fmt.Sprintf("first contact with mailbox %s: taking %d unseen mails, leaving %d older mails alone", in.o.Mailbox, taken, left),
		append(attrs, "unseen", taken, "left_alone", left)...)
	return plans, nil
}

// planScan plans the unfinished first scan of cp: of metas, the mails
// after cp.LastUID, those at or below InitialUID are delivered only when
// unseen, then a batch without mails moves the checkpoint to InitialUID
// and ends the scan, then the mails above follow as usual. It returns how
// many mails the scan takes and how many it leaves alone.
func (in *Intake) planScan(ctx context.Context, s *imapSession, cp Checkpoint, metas []mailMeta) (plans []batchPlan, taken, left int, err error) {
	unseen := map[uint32]bool{}
	if cp.LastUID < cp.InitialUID { // else only the end of the scan is left
		if unseen, err = s.searchUnseen(ctx, cp.LastUID+1, cp.InitialUID); err != nil {
			return nil, 0, 0, err
		}
	}
	var old, fresh []mailMeta
	for _, m := range metas {
		switch {
		case m.uid > cp.InitialUID:
			fresh = append(fresh, m)
		case unseen[m.uid]:
			old = append(old, m)
		default:
			left++
		}
	}
	// The end of the scan is a batch of its own, committed only after the
	// scan's last mails were flagged: up to then recovery after a crash
	// still finds them (see recoverUnsettled).
	done := Checkpoint{LastUID: cp.InitialUID, InitialUID: cp.InitialUID}
	plans = append(in.batches(old, Checkpoint{InitialUID: cp.InitialUID, Scanning: true}), batchPlan{base: done, always: true})
	return append(plans, in.batches(fresh, Checkpoint{InitialUID: cp.InitialUID})...), len(old), left, nil
}

// batches cuts metas into plans of at most BatchSize mails and the byte
// budget, each with base as the checkpoint beyond its mails.
func (in *Intake) batches(metas []mailMeta, base Checkpoint) []batchPlan {
	var plans []batchPlan
	for _, b := range splitBatches(metas, in.o.BatchSize, max(in.o.MaxSize, intakeBatchBytes), in.o.MaxSize) {
		plans = append(plans, batchPlan{metas: b, base: base})
	}
	return plans
}

// searchUnseen returns the UIDs from..to of mails without \Seen.
func (s *imapSession) searchUnseen(ctx context.Context, from, to uint32) (map[uint32]bool, error) {
	uids, err := s.searchUIDs(ctx, "UID SEARCH UNSEEN", &imap.SearchCriteria{
		UID:     []imap.UIDSet{{imap.UIDRange{Start: imap.UID(from), Stop: imap.UID(to)}}},
		NotFlag: []imap.Flag{imap.FlagSeen},
	})
	if err != nil {
		return nil, err
	}
	set := make(map[uint32]bool, len(uids))
	for _, u := range uids {
		set[u] = true
	}
	return set, nil
}

// searchUIDs runs a UID SEARCH and returns the UIDs found.
func (s *imapSession) searchUIDs(ctx context.Context, op string, criteria *imap.SearchCriteria) ([]uint32, error) {
	var found []imap.UID
	err := s.do(ctx, op, func() error {
		data, err := s.c.UIDSearch(criteria, nil).Wait()
		if err != nil {
			return err
		}
		found = data.AllUIDs()
		return nil
	})
	if err != nil {
		return nil, err
	}
	uids := make([]uint32, len(found))
	for i, u := range found {
		uids[i] = uint32(u)
	}
	return uids, nil
}
