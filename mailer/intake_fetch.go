package mailer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// intakeBatchBytes is the byte budget of one batch (at least MaxSize): it
// keeps a run of big mails from being held in memory all at once.
const intakeBatchBytes = 64 << 20

// mailMeta is what the first, cheap FETCH tells about a new mail.
type mailMeta struct {
	uid  uint32
	size int64
	date time.Time
}

// check delivers every mail above the checkpoint, batch by batch; on
// first contact with the mailbox it delivers what InitialScan says.
func (in *Intake) check(ctx context.Context, s *imapSession) error {
	// Everything announced so far is covered by this check.
	select {
	case <-s.wake:
	default:
	}
	stored, err := in.o.Checkpoints.Checkpoint(in.o.Mailbox)
	if err != nil {
		return fmt.Errorf("read checkpoint: %w", err)
	}
	cp, known := in.resume(stored, s.uidValidity)
	if err := in.recoverUnsettled(ctx, s, cp); err != nil {
		return err
	}
	if err := in.settle(ctx, s); err != nil {
		return err
	}
	var plans []batchPlan
	if known {
		plans, err = in.planCheck(ctx, s, cp)
	} else {
		plans, err = in.planFirstContact(ctx, s)
	}
	if err != nil {
		return err
	}
	delivered := 0
	for _, p := range plans {
		n, err := in.deliver(ctx, s, p)
		if err != nil {
			return err
		}
		delivered += n
	}
	in.event(IntakeEvent{Kind: IntakeChecked, Count: delivered})
	return nil
}

// listNew fetches UID, size and date of the mails after last, in UID order.
func (s *imapSession) listNew(ctx context.Context, last uint32) ([]mailMeta, error) {
	if last == math.MaxUint32 {
		return nil, nil
	}
	set := imap.UIDSet{{Start: imap.UID(last + 1), Stop: 0}} // last+1:*
	var bufs []*imapclient.FetchMessageBuffer
	err := s.do(ctx, "UID FETCH (RFC822.SIZE INTERNALDATE)", func() (err error) {
		bufs, err = s.c.Fetch(set, &imap.FetchOptions{UID: true, RFC822Size: true, InternalDate: true}).Collect()
		return err
	})
	if err != nil {
		return nil, err
	}
	metas := make([]mailMeta, 0, len(bufs))
	for _, b := range bufs {
		// "n:*" always includes the highest UID, even when it is below n:
		// with nothing new the server answers with the last old mail.
		// go-imap's client already keeps such a response from the command;
		// correctness must not hinge on that.
		if uint32(b.UID) <= last {
			continue
		}
		metas = append(metas, mailMeta{uid: uint32(b.UID), size: b.RFC822Size, date: b.InternalDate})
	}
	slices.SortFunc(metas, func(a, b mailMeta) int { return cmp.Compare(a.uid, b.uid) })
	metas = slices.CompactFunc(metas, func(a, b mailMeta) bool { return a.uid == b.uid })
	return metas, nil
}

// splitBatches cuts metas into runs of at most maxMails mails whose fetched
// bytes (each at most maxSize) stay within maxBytes; a batch holds at least
// one mail.
func splitBatches(metas []mailMeta, maxMails int, maxBytes, maxSize int64) [][]mailMeta {
	var batches [][]mailMeta
	start, used := 0, int64(0)
	for i, m := range metas {
		size := min(max(m.size, 0), maxSize)
		if i > start && (i-start >= maxMails || used+size > maxBytes) {
			batches = append(batches, metas[start:i])
			start, used = i, 0
		}
		used += size
	}
	if start < len(metas) {
		batches = append(batches, metas[start:])
	}
	return batches
}

// deliver fetches one batch, hands it to the Handler and, once committed,
// flags and moves it. It returns how many mails were committed.
func (in *Intake) deliver(ctx context.Context, s *imapSession, p batchPlan) (int, error) {
	mails, err := in.fetch(ctx, s, p.metas)
	if err != nil {
		return 0, err
	}
	if len(mails) == 0 && !p.always {
		return 0, nil
	}
	b := Batch{Mailbox: in.o.Mailbox, UIDValidity: s.uidValidity, Mails: mails, base: p.base}
	// An empty batch only moves the checkpoint; it is named by where to.
	first, last := p.base.LastUID, p.base.LastUID
	if len(mails) > 0 {
		first, last = mails[0].UID, mails[len(mails)-1].UID
		in.event(IntakeEvent{Kind: IntakeFetched, Count: len(mails)})
	}
	if err := in.o.Handler(ctx, b); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		in.log.Error("handler failed, mails stay unflagged and are fetched again",
			"uid", first, "last_uid", last, "count", len(mails), "err", err)
		in.event(IntakeEvent{Kind: IntakeHandlerError, UID: first, Count: len(mails), Err: err})
		return 0, fmt.Errorf("%w: uids %d-%d: %w", ErrIntakeHandler, first, last, err)
	}
	in.mark = b.Checkpoint()
	if len(mails) == 0 {
		in.log.Debug("checkpoint moved past mails left alone", "last_uid", in.mark.LastUID)
		return 0, nil
	}
	in.log.Info("mails committed", "uid", first, "last_uid", last, "count", len(mails))
	if in.pending.uidValidity != s.uidValidity {
		in.pending = pendingDone{uidValidity: s.uidValidity}
	}
	for _, m := range mails {
		in.pending.uids = append(in.pending.uids, m.UID)
	}
	return len(mails), in.settle(ctx, s)
}

// fetch fetches the bodies of metas, logging what is cut or gone.
func (in *Intake) fetch(ctx context.Context, s *imapSession, metas []mailMeta) ([]Fetched, error) {
	if len(metas) == 0 {
		return nil, nil
	}
	mails, err := s.fetchBodies(ctx, metas, in.o.MaxSize)
	if err != nil {
		return nil, err
	}
	got := make(map[uint32]bool, len(mails))
	for _, m := range mails {
		got[m.UID] = true
		if m.Truncated {
			in.log.Warn("mail larger than the intake limit, taking only its beginning; the full mail stays on the server",
				"uid", m.UID, "size", m.Size, "max_size", in.o.MaxSize)
			in.event(IntakeEvent{Kind: IntakeOversize, UID: m.UID, Size: m.Size})
		}
	}
	for _, m := range metas {
		if !got[m.uid] {
			in.log.Info("mail vanished before its body was fetched", "uid", m.uid)
		}
	}
	return mails, nil
}

// fetchBodies fetches the mails of metas without setting \Seen, each cut at
// maxSize bytes. A mail that is gone by now is left out.
func (s *imapSession) fetchBodies(ctx context.Context, metas []mailMeta, maxSize int64) ([]Fetched, error) {
	var set imap.UIDSet
	for _, m := range metas {
		set.AddNum(imap.UID(m.uid))
	}
	opts := &imap.FetchOptions{
		UID: true,
		// The partial range costs nothing for small mails and keeps a
		// huge one from ever being transferred whole.
		BodySection: []*imap.FetchItemBodySection{{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: maxSize}}},
	}
	type body struct {
		raw       []byte
		truncated bool
	}
	bodies := make(map[uint32]body, len(metas))
	err := s.watch(ctx, s.timeout, "UID FETCH BODY.PEEK[]", func(progress func()) error {
		cmd := s.c.Fetch(set, opts)
		for msg := cmd.Next(); msg != nil; msg = cmd.Next() {
			progress()
			uid, raw, litSize, err := readFetchedBody(msg, maxSize, progress)
			if err != nil {
				// A body that cannot be read whole means a broken
				// connection, and the session ends. go-imap's Close
				// would read on into the literal from the buffer its
				// reader goroutine is already parsing again (a data
				// race in v2.0.0-beta.8): close the connection instead.
				_ = s.raw.Close()
				return err
			}
			if uid != 0 {
				bodies[uid] = body{raw: raw, truncated: litSize > maxSize}
			}
		}
		return cmd.Close()
	})
	if err != nil {
		return nil, err
	}
	mails := make([]Fetched, 0, len(bodies))
	for _, m := range metas {
		b, ok := bodies[m.uid]
		if !ok {
			continue
		}
		mails = append(mails, Fetched{
			UID:          m.uid,
			Raw:          b.raw,
			Size:         m.size,
			Truncated:    b.truncated || (m.size > maxSize && int64(len(b.raw)) >= maxSize),
			InternalDate: m.date,
		})
	}
	return mails, nil
}

// readFetchedBody reads one FETCH response: its UID and at most maxSize
// bytes of its body; a server that ignored the partial range has the rest
// discarded unread into memory. litSize is the size the server announced.
func readFetchedBody(msg *imapclient.FetchMessageData, maxSize int64, progress func()) (uid uint32, raw []byte, litSize int64, err error) {
	raw = []byte{} // a NIL body is delivered as empty: the mail still counts
	for item := msg.Next(); item != nil; item = msg.Next() {
		switch item := item.(type) {
		case imapclient.FetchItemDataUID:
			uid = uint32(item.UID)
		case imapclient.FetchItemDataBodySection:
			if item.Literal == nil {
				continue
			}
			litSize = item.Literal.Size()
			raw = make([]byte, min(litSize, maxSize))
			if _, err := io.ReadFull(progressReader{item.Literal, progress}, raw); err != nil {
				return 0, nil, 0, fmt.Errorf("read body: %w", err)
			}
		}
	}
	return uid, raw, litSize, nil
}

type progressReader struct {
	r        io.Reader
	progress func()
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.progress()
	}
	return n, err
}

// settle flags (and moves) the committed mails still pending. A refusal by
// the server is logged and given up, so one odd mail cannot stop intake:
// the checkpoint already keeps those mails from being delivered again.
// Connection trouble keeps them pending for the next session.
func (in *Intake) settle(ctx context.Context, s *imapSession) error {
	p := in.pending
	if len(p.uids) == 0 {
		return nil
	}
	if p.uidValidity != s.uidValidity {
		in.log.Warn("UIDVALIDITY changed before committed mails were flagged; leaving them as they are",
			"count", len(p.uids), "old_uidvalidity", p.uidValidity)
		in.pending = pendingDone{}
		return nil
	}
	err := s.markProcessed(ctx, imap.UIDSetNum(uidsOf(p.uids)...), in.o.ProcessedMailbox)
	var imapErr *imap.Error
	if errors.As(err, &imapErr) {
		in.log.Error("server refused to flag or move committed mails; they stay as they are",
			"uid", p.uids[0], "count", len(p.uids), "processed", in.o.ProcessedMailbox, "err", err)
		err = nil
	}
	if err != nil {
		return err
	}
	in.pending = pendingDone{}
	return nil
}

// recoverUnsettled finds, once per process and UIDVALIDITY, the mails an
// earlier process committed but could not flag or move because it died in
// between: unseen mails at or below the checkpoint (with a processed
// mailbox, every mail still here at or below it). They are settled like
// mails whose flagging failed in this process. Of the mails at or below
// cp.InitialUID, which the first scan mostly left alone on purpose, only
// the unseen ones of an unfinished scan are looked at (see
// intake_scan.go).
func (in *Intake) recoverUnsettled(ctx context.Context, s *imapSession, cp Checkpoint) error {
	if in.recovered == s.uidValidity || len(in.pending.uids) > 0 {
		return nil
	}
	from, unseenOnly := cp.InitialUID+1, in.o.ProcessedMailbox == ""
	if cp.Scanning {
		from, unseenOnly = 1, true
	}
	if cp.LastUID < from {
		return nil
	}
	criteria := &imap.SearchCriteria{UID: []imap.UIDSet{{imap.UIDRange{Start: imap.UID(from), Stop: imap.UID(cp.LastUID)}}}}
	if unseenOnly {
		criteria.NotFlag = []imap.Flag{imap.FlagSeen}
	}
	uids, err := s.searchUIDs(ctx, "UID SEARCH", criteria)
	if err != nil {
		return err
	}
	in.recovered = s.uidValidity
	if len(uids) == 0 {
		return nil
	}
	in.log.Info("settling mails committed before a restart but not yet flagged", "count", len(uids), "first_uid", uids[0])
	in.pending = pendingDone{uidValidity: s.uidValidity, uids: uids}
	return nil
}

func uidsOf(l []uint32) []imap.UID {
	out := make([]imap.UID, len(l))
	for i, u := range l {
		out[i] = imap.UID(u)
	}
	return out
}

// markProcessed flags uids \Seen and, when dest is set, moves them there.
func (s *imapSession) markProcessed(ctx context.Context, uids imap.UIDSet, dest string) error {
	store := func(f imap.Flag) error {
		return s.do(ctx, "UID STORE +FLAGS.SILENT "+string(f), func() error {
			return s.c.Store(uids, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{f}}, nil).Close()
		})
	}
	if err := store(imap.FlagSeen); err != nil {
		return err
	}
	if dest == "" {
		return nil
	}
	if s.caps.Has(imap.CapMove) {
		return s.do(ctx, "UID MOVE "+dest, func() error {
			_, err := s.c.Move(uids, dest).Wait()
			return err
		})
	}
	err := s.do(ctx, "UID COPY "+dest, func() error {
		_, err := s.c.Copy(uids, dest).Wait()
		return err
	})
	if err != nil {
		return err
	}
	if err := store(imap.FlagDeleted); err != nil {
		return err
	}
	if !s.caps.Has(imap.CapUIDPlus) {
		// A plain EXPUNGE would also remove mail that others marked
		// \Deleted; the mailbox owner's client or server expunges later.
		return nil
	}
	return s.do(ctx, "UID EXPUNGE", func() error { return s.c.UIDExpunge(uids).Close() })
}
