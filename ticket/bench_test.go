package ticket_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// BenchmarkIngest measures intake's work per mail after the fetch: parse,
// route, and the bbolt commit (raw mail, ticket, history, indexes, ack in
// the outbox, checkpoint) on a real file, in batches as intake hands them.
func BenchmarkIngest(b *testing.B) {
	body := strings.Repeat("The printer on the third floor prints blank pages since this morning.\r\n", 40)
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			db, err := store.Open(filepath.Join(b.TempDir(), "hd.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			d, err := ticket.NewDesk(ticket.Options{
				Store: db, Support: mailer.Address{Addr: "support@example.com"}, Logger: slog.New(slog.DiscardHandler),
				AckPerSenderPerHour: 1 << 30, AckGlobalPerHour: 1 << 30,
			})
			if err != nil {
				b.Fatal(err)
			}
			mails := make([][]byte, b.N)
			for i := range mails {
				mails[i] = []byte(fmt.Sprintf("From: Customer %d <c%d@customer%d.example>\r\nTo: support@example.com\r\nSubject: Request %d\r\nMessage-ID: <r%d@customer.example>\r\nDate: Mon, 23 Nov 2026 08:59:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s", i, i, i%50, i, i, body))
			}
			b.SetBytes(int64(len(mails[0])))
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i += batch {
				bt := mailer.Batch{Mailbox: "INBOX", UIDValidity: 1}
				for j := i; j < min(i+batch, b.N); j++ {
					bt.Mails = append(bt.Mails, mailer.Fetched{UID: uint32(j + 1), Raw: mails[j], Size: int64(len(mails[j]))})
				}
				if err := d.ReceiveBatch(context.Background(), bt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}
