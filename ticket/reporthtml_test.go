package ticket_test

import (
	"bytes"
	"errors"
	"image/png"
	"io"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// monthsFixture is a store with tickets of a Stockholm agreement around
// month ends, where the agreement's zone and UTC disagree on the month.
type monthsFixture struct {
	ag  *sla.Agreement
	db  *store.DB
	loc *time.Location
}

func newMonthsFixture(t testing.TB) *monthsFixture {
	t.Helper()
	loc := zone(t, "Europe/Stockholm")
	plan := &sla.Plan{Name: "trinax-alert", Calendar: builtinCal(t, "24x7", loc), Priorities: every(first(sla.Hours(time.Hour)))}
	ag := &sla.Agreement{Name: "Trinax Alert!", Customers: []string{"customer.example"}, Plan: plan, Language: "sv",
		HourBank: sla.HourBank{Hours: 15 * time.Hour, Per: sla.Quarterly}, Contacts: []string{"boss@customer.example"}}
	db, err := store.Open(filepath.Join(t.TempDir(), "hd.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, loc) }
	tickets := []*ticket.Ticket{
		// 30 June 23:30 in Stockholm is 21:30 UTC: June either way.
		{Case: "HD-000001", Subject: "Före kvartalet", Priority: 3, State: ticket.StateResolved,
			Created: at(6, 30, 23, 30), ResolvedAt: at(7, 1, 0, 30)},
		// 31 July 23:30 in Stockholm: July here, and in UTC too; closed
		// 1 August 00:10 here, which is still 31 July in UTC.
		{Case: "HD-000002", Subject: "Sent i juli", Priority: 2, State: ticket.StateClosed,
			Created: at(7, 31, 23, 30), ResolvedAt: at(8, 1, 0, 10)},
		// 1 September 00:30 here is 31 August 22:30 UTC.
		{Case: "HD-000003", Subject: `Växeln <script>alert("x")</script>`, Priority: 1, State: ticket.StateOpen,
			Created: at(9, 1, 0, 30)},
		{Case: "HD-000004", Subject: "Skrivare", Priority: 4, State: ticket.StateResolved,
			Created: at(9, 10, 9, 0), ResolvedAt: at(9, 10, 11, 0)},
		{Case: "HD-000005", Subject: "Nästa kvartal", Priority: 3, State: ticket.StateOpen,
			Created: at(10, 1, 0, 0)},
		{Case: "HD-000006", Subject: "Annan avtal", Agreement: "Jotron", Priority: 3, State: ticket.StateOpen,
			Created: at(8, 5, 9, 0)},
	}
	if err := db.Update(func(tx ticket.Tx) error {
		for i, tk := range tickets {
			tk.ID = uint64(i + 1)
			if tk.Agreement == "" {
				tk.Agreement = ag.Name
			}
			if err := tx.PutTicket(tk); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return &monthsFixture{ag: ag, db: db, loc: loc}
}

func (f *monthsFixture) report(t testing.TB, label string) *ticket.AgreementReport {
	t.Helper()
	var r *ticket.AgreementReport
	if err := f.db.View(func(tx ticket.Tx) (err error) {
		r, err = ticket.BuildAgreementReport(tx, f.ag, label)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAgreementReportCountsCasesPerMonthInTheAgreementsZone(t *testing.T) {
	f := newMonthsFixture(t)
	for _, tc := range []struct {
		label          string
		first          time.Month
		opened, closed []int
	}{
		{"2026-Q3", time.July, []int{1, 0, 2}, []int{1, 1, 1}},
		{"2026-07", time.July, []int{1}, []int{1}},
		{"2026-08", time.August, []int{0}, []int{1}},
		{"2026", time.January, []int{0, 0, 0, 0, 0, 1, 1, 0, 2, 1, 0, 0}, []int{0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0}},
	} {
		t.Run(tc.label, func(t *testing.T) {
			r := f.report(t, tc.label)
			if len(r.Months) != len(tc.opened) {
				t.Fatalf("%d months, want %d", len(r.Months), len(tc.opened))
			}
			var opened, closed int
			for i, m := range r.Months {
				want := time.Date(2026, tc.first+time.Month(i), 1, 0, 0, 0, 0, f.loc)
				if !m.Start.Equal(want) || m.Start.Location() != f.loc {
					t.Errorf("month %d starts %v, want %v", i, m.Start, want)
				}
				if m.Opened != tc.opened[i] || m.Closed != tc.closed[i] {
					t.Errorf("%s: opened %d closed %d, want %d and %d", m.Start.Format("2006-01"), m.Opened, m.Closed, tc.opened[i], tc.closed[i])
				}
				opened += m.Opened
				closed += m.Closed
			}
			if opened != r.OpenedTotal() || closed != r.ClosedTotal() {
				t.Errorf("months add up to %d opened, %d closed; the report has %d and %d", opened, closed, r.OpenedTotal(), r.ClosedTotal())
			}
		})
	}
}

func TestRenderReportHTML(t *testing.T) {
	f := newMonthsFixture(t)
	r := f.report(t, "2026-Q3")
	html, inline, err := ticket.RenderReportHTML(r, "sv", "Exempel Support")
	if err != nil {
		t.Fatal(err)
	}
	if len(inline) != 1 {
		t.Fatalf("%d inline parts, want the chart", len(inline))
	}
	chart := inline[0]
	if chart.ContentType != "image/png" || !strings.Contains(html, `src="cid:`+chart.ContentID+`"`) {
		t.Errorf("chart %s %q is not shown by the HTML", chart.ContentType, chart.ContentID)
	}
	if _, err := png.Decode(bytes.NewReader(chart.Data)); err != nil {
		t.Errorf("chart is not a PNG: %v", err)
	}
	for _, want := range []string{
		`<html lang="sv">`, "Supportrapport 2026-Q3: Trinax Alert!",
		`<tr><td>juli 2026</td><td class="n">1</td><td class="n">1</td></tr>`,
		`<tr><td>augusti 2026</td><td class="n">0</td><td class="n">1</td></tr>`,
		`<tr><td>september 2026</td><td class="n">2</td><td class="n">1</td></tr>`,
		"HD-000003", "&lt;script&gt;", "Timbank", "Exempel Support",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<script>") {
		t.Errorf("a customer's subject became markup:\n%s", html)
	}
	again, inline2, err := ticket.RenderReportHTML(r, "sv", "Exempel Support")
	if err != nil || again != html || len(inline2) != 1 || !bytes.Equal(inline2[0].Data, chart.Data) || inline2[0].ContentID != chart.ContentID {
		t.Errorf("the same report rendered differently (%v)", err)
	}

	// A report not built from a store has no months: no chart, still HTML.
	bare := &ticket.AgreementReport{Agreement: "a", Label: "2026", Start: r.Start, End: r.End}
	html, inline, err = ticket.RenderReportHTML(bare, "en", "")
	if err != nil || len(inline) != 0 || strings.Contains(html, "<img") {
		t.Errorf("report without months: %d inline parts, err %v", len(inline), err)
	}
}

// TestReportMailWithHTMLRoundTrips composes the whole report mail, as
// SendReport will with the HTML part, and reads it back as a mail client
// and as our own intake would.
func TestReportMailWithHTMLRoundTrips(t *testing.T) {
	f := newMonthsFixture(t)
	r := f.report(t, "2026-Q3")
	text, csv, err := ticket.RenderReport(r, "nb", "Eksempel Support")
	if err != nil {
		t.Fatal(err)
	}
	html, inline, err := ticket.RenderReportHTML(r, "nb", "Eksempel Support")
	if err != nil {
		t.Fatal(err)
	}
	out := &mailer.Outgoing{
		From:    mailer.Address{Name: "Eksempel Support", Addr: "support@helpdesk.example"},
		To:      []mailer.Address{{Addr: "boss@customer.example"}},
		Subject: text.Subject, Text: text.Body, HTML: html, Inline: inline,
		Attachments: []mailer.OutAttachment{{Filename: "report-" + r.Label + ".csv", ContentType: "text/csv; charset=utf-8", Data: csv}},
		MessageID:   "hd.report.1@helpdesk.example", Date: time.Date(2026, 10, 1, 6, 0, 0, 0, time.UTC),
		AutoSubmitted: mailer.AutoGenerated, LoopID: "inst-1",
	}
	raw, err := mailer.Compose(out)
	if err != nil {
		t.Fatal(err)
	}

	// Our parser: the text part is the text, the chart an inline image,
	// the CSV an attachment.
	m := mailer.Parse(raw)
	if m.ParseError != "" {
		t.Errorf("ParseError %q", m.ParseError)
	}
	if want := strings.TrimRight(text.Body, "\n"); m.Text != want {
		t.Errorf("text read back:\n%s\nwant:\n%s", m.Text, want)
	}
	if m.Subject != text.Subject {
		t.Errorf("subject %q, want %q", m.Subject, text.Subject)
	}
	want := []mailer.Attachment{
		{Filename: inline[0].Filename, ContentType: "image/png", Size: len(inline[0].Data), Inline: true},
		{Filename: "report-2026-Q3.csv", ContentType: "text/csv", Size: len(csv)},
	}
	if len(m.Attachments) != len(want) || m.Attachments[0] != want[0] || m.Attachments[1] != want[1] {
		t.Errorf("attachments %+v, want %+v", m.Attachments, want)
	}

	// go-message: the tree, and the chart's cid resolves to the PNG.
	e, err := message.Read(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]*message.Entity{} // by Content-ID
	bodies := map[string][]byte{}         // by Content-ID, or type for parts without
	var walk func(e *message.Entity) string
	walk = func(e *message.Entity) string {
		ct, _, _ := e.Header.ContentType()
		if mr := e.MultipartReader(); mr != nil {
			var kids []string
			for {
				p, err := mr.NextPart()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				kids = append(kids, walk(p))
			}
			return ct + "[" + strings.Join(kids, ",") + "]"
		}
		body, err := io.ReadAll(e.Body)
		if err != nil {
			t.Fatal(err)
		}
		key := ct
		if id := e.Header.Get("Content-Id"); id != "" {
			key = id
			parts[id] = e
		}
		bodies[key] = body
		return ct
	}
	tree := walk(e)
	if want := "multipart/mixed[multipart/related[multipart/alternative[text/plain,text/html],image/png],text/csv]"; tree != want {
		t.Fatalf("tree %s, want %s", tree, want)
	}
	if got := strings.ReplaceAll(string(bodies["text/html"]), "\r\n", "\n"); got != html {
		t.Errorf("HTML read back differs")
	}
	refs := regexp.MustCompile(`src="cid:([^"]+)"`).FindAllStringSubmatch(string(bodies["text/html"]), -1)
	if len(refs) != 1 {
		t.Fatalf("HTML has %d cid images, want the chart", len(refs))
	}
	id := "<" + refs[0][1] + ">"
	if parts[id] == nil {
		t.Fatalf("cid:%s does not resolve; parts %v", refs[0][1], parts)
	}
	if img, err := png.Decode(bytes.NewReader(bodies[id])); err != nil || img.Bounds().Dx() != 480 || img.Bounds().Dy() != 200 {
		t.Errorf("chart read back: %v, %v", img, err)
	}
	if !bytes.Equal(bodies["text/csv"], csv) {
		t.Errorf("CSV read back differs")
	}
}

// BenchmarkRenderReportHTML is the HTML part of a yearly report: twelve
// months of chart and tables.
func BenchmarkRenderReportHTML(b *testing.B) {
	f := newMonthsFixture(b)
	r := f.report(b, "2026")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ticket.RenderReportHTML(r, "nb", "Eksempel Support"); err != nil {
			b.Fatal(err)
		}
	}
}
