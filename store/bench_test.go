package store

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// BenchmarkCommit measures what intake costs the store per mail on a real
// file with fsync: a ticket, its entry, 5 KB of raw mail, the thread and
// dedupe keys, an acknowledgement in the outbox and the checkpoint, with
// 1 or 50 mails per Update (intake commits a fetched batch at once).
func BenchmarkCommit(b *testing.B) {
	raws := make([][]byte, 64)
	for i := range raws {
		raws[i] = mailText(uint64(i), 5<<10)
	}
	for _, batch := range []int{1, 50} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db := openTemp(b)
			var uid uint64
			b.ReportAllocs()
			for b.Loop() {
				err := db.Update(func(tx ticket.Tx) error {
					for range batch {
						uid++
						if err := commitMail(tx, uid, raws[uid%64]); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(uid)/b.Elapsed().Seconds(), "mails/s")
		})
	}
}

// BenchmarkOpen measures Open of an existing file, which makes the quick
// check (meta pages, freelist, bucket roots and branch pages) before
// bbolt maps it; the full check runs in the background and is stopped by
// Close (see BenchmarkVerify for its cost).
func BenchmarkOpen(b *testing.B) {
	path := realDBBatched(b, 5000)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		db, err := Open(path, testOptions())
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures the full check of every page (Verify; what
// Open's background check costs).
func BenchmarkVerify(b *testing.B) {
	path := realDBBatched(b, 5000)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		if _, err := Verify(path); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecordJSON measures the records the scheduler handles for every
// deadline: it decodes and encodes the ticket, decodes the customer's last
// entry and encodes the warning's envelope. Each is measured with the
// store's codec and, for comparison, with encoding/json.
func BenchmarkRecordJSON(b *testing.B) {
	records := []struct {
		name string
		v    any
		zero func() any
	}{
		{"ticket", benchRecordTicket(), func() any { return new(ticket.Ticket) }},
		{"entry", benchRecordEntry(), func() any { return new(ticket.Entry) }},
		{"envelope", benchRecordEnvelope(), func() any { return new(mailer.Envelope) }},
	}
	codecs := []struct {
		name   string
		encode func(any) ([]byte, error)
		decode func([]byte, any) error
	}{
		{"store", encodeRecord, decodeRecord},
		{"encoding-json", json.Marshal, json.Unmarshal},
	}
	for _, rec := range records {
		data, err := json.Marshal(rec.v)
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range codecs {
			b.Run(rec.name+"/decode/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if err := c.decode(data, rec.zero()); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(rec.name+"/encode/"+c.name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.encode(rec.v); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchRecordTicket is a ticket as the scheduler finds it at its warning.
func benchRecordTicket() *ticket.Ticket {
	at := time.Date(2027, 1, 4, 8, 0, 0, 0, time.UTC)
	return &ticket.Ticket{
		ID: 123456, Case: "HD-123456", Subject: "Printer 123456 on floor 3 prints blank pages",
		Customer: "user1@customer.example", Participants: []string{"user1@customer.example"}, State: ticket.StateOpen,
		Priority: 3, Language: "en", Created: at, Updated: at, LastInbound: "req123456@customer.example", MessageCount: 2,
		Agreement: "Bench", ResponseBy: "Tuesday 12 January 2027 08:00 UTC, within 192 business hours",
		Events: []ticket.Event{
			{At: at, What: "created", Detail: "from user1@customer.example"},
			{At: at, What: "sla", Detail: "agreement Bench (covered), plan bench, priority 3 (default)"},
			{At: at, What: "ack-queued", Detail: "to user1@customer.example, <hd-123456.1@example.com>"},
			{At: at, What: "sla-warning", Detail: "first-response due 2027-01-12T08:00:00Z"},
			{At: at, What: "sla-warn-queued", Detail: "to oncall@example.com, hd-123456.1798876800000000000.0123456789abcdef@example.com"},
		},
		SLA: &ticket.SLAState{Plan: "bench", Coverage: "covered", PrioritySource: "default", Clocks: []*ticket.Clock{{
			Promise: sla.PromiseFirstResponse, Target: "192h", Start: at, Budget: 192 * time.Hour,
			Since: at, Due: at.Add(192 * time.Hour), WarnAt: at.Add(144 * time.Hour), Warned: at.Add(144 * time.Hour),
		}}},
	}
}

// benchRecordEntry is the customer's mail the warning quotes.
func benchRecordEntry() *ticket.Entry {
	at := time.Date(2026, 12, 29, 8, 0, 0, 0, time.UTC)
	return &ticket.Entry{Seq: 1, Direction: ticket.Inbound, MessageID: "req123456@customer.example",
		From: "user1@customer.example", To: []string{"support@example.com"},
		Subject: "Printer 123456 on floor 3 prints blank pages", Date: at, Received: at, Kind: "normal",
		Text: "Hello,\n\nthe printer on the third floor prints blank pages since this morning.\nWe tried another toner.\n\nRegards\n"}
}

// benchRecordEnvelope is a warning mail of about 2 KB in the outbox.
func benchRecordEnvelope() *mailer.Envelope {
	at := time.Date(2027, 1, 10, 8, 0, 0, 0, time.UTC)
	raw := "From: Support <support@example.com>\r\nTo: oncall@example.com\r\n" +
		"Subject: [#HD-123456] SLA warning: first response due\r\nAuto-Submitted: auto-generated\r\n" +
		"Message-ID: <hd-123456.1798876800000000000.0123456789abcdef@example.com>\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		strings.Repeat("The first response to HD-123456 is due soon.\r\n", 30)
	return &mailer.Envelope{ID: 98765, From: "support@example.com", To: []string{"oncall@example.com"}, Raw: []byte(raw),
		Purpose: "sla-warn", Case: "HD-123456", MessageID: "<hd-123456.1798876800000000000.0123456789abcdef@example.com>",
		Created: at, NextAttempt: at}
}
