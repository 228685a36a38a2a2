package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The hand-written codec must know every field of ticket.Ticket; when the
// type changes, bring ticketjson.go (and ticketCodecLayout) up to date.
func TestTicketCodecCoversTicket(t *testing.T) {
	if ticketCodecOff != "" {
		t.Fatalf("the ticket codec is off, tickets go through encoding/json: %s", ticketCodecOff)
	}
}

// randomTicket makes tickets with what JSON encoding has to get right:
// empty and nil slices, HTML and control characters, invalid UTF-8,
// U+2028, times in other zones and with nanoseconds, zero times, nil
// pointers in lists.
func randomTicket(r *rand.Rand) *ticket.Ticket {
	strs := []string{"", "plain", "HD-000042", "<a1@example.com>", "Tom & Jerry <tj@example.com>",
		"line\nbreak\ttab\r\x01\x1f\x7f", `quote " and \ backslash /`, "blåbærsyltetøy", "\u2028\u2029",
		"bad \xff\xfe utf8", "emoji 🎫", "\b\f", "é\u0301", "\x00nul"}
	str := func() string { return strs[r.IntN(len(strs))] }
	list := func() []string {
		switch r.IntN(4) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		out := make([]string, 1+r.IntN(3))
		for i := range out {
			out[i] = str()
		}
		return out
	}
	oslo, _ := time.LoadLocation("Europe/Oslo")
	zones := []*time.Location{time.UTC, oslo, time.FixedZone("", -(3*3600 + 30*60)), time.FixedZone("X", 14*3600)}
	tm := func() time.Time {
		if r.IntN(4) == 0 {
			return time.Time{}
		}
		t := time.Unix(r.Int64N(4e9), int64(r.IntN(3))*r.Int64N(1e9))
		return t.In(zones[r.IntN(len(zones))])
	}
	n := func() int { return []int{0, 1, -1, 42, 1 << 40, -(1 << 40)}[r.IntN(6)] }
	t := &ticket.Ticket{
		ID: r.Uint64N(1 << 40), Case: str(), Subject: str(), Customer: str(), Participants: list(),
		State: ticket.State(str()), Priority: n(), Language: str(), Created: tm(), Updated: tm(),
		LinkedTo: str(), LastInbound: str(), Flags: list(), MessageCount: n(), Assignee: str(),
		ResolvedAt: tm(), NotifyRoot: str(), Agreement: str(), ResponseBy: str(),
	}
	if r.IntN(2) == 0 {
		t.ID = ^uint64(0) - r.Uint64N(3)
	}
	if r.IntN(5) > 0 {
		t.Events = []ticket.Event{}
		for range r.IntN(6) {
			t.Events = append(t.Events, ticket.Event{At: tm(), What: str(), Detail: str()})
		}
	}
	if r.IntN(2) == 0 {
		for range r.IntN(3) {
			t.TimeLog = append(t.TimeLog, ticket.TimeEntry{At: tm(), Engineer: str(), Minutes: n()})
		}
	}
	if r.IntN(4) > 0 {
		st := &ticket.SLAState{Plan: str(), Coverage: str(), PrioritySource: str(), MissingFields: list()}
		for range r.IntN(4) {
			if r.IntN(6) == 0 {
				st.Clocks = append(st.Clocks, nil)
				continue
			}
			st.Clocks = append(st.Clocks, &ticket.Clock{Promise: sla.Promise(str()), Target: str(), Start: tm(),
				Budget: time.Duration(n()) * time.Minute, Used: time.Duration(n()), Since: tm(), Due: tm(),
				WarnAt: tm(), Warned: tm(), Breached: tm(), Met: tm(), Steps: n()})
		}
		if r.IntN(2) == 0 {
			st.Clocks = []*ticket.Clock{}
		}
		for range r.IntN(3) {
			if r.IntN(6) == 0 {
				st.Mails = append(st.Mails, nil)
				continue
			}
			st.Mails = append(st.Mails, &ticket.HeldMail{At: tm(), Kind: ticket.DeadlineKind(str()),
				Promise: sla.Promise(str()), Step: n(), To: list()})
		}
		t.SLA = st
	}
	return t
}

func TestTicketCodecMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for i := range 3000 {
		tk := randomTicket(r)
		want, werr := json.Marshal(tk)
		got, gerr := marshalTicket(tk)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("ticket %d: marshalTicket =\n%s, %v\njson.Marshal =\n%s, %v", i, got, gerr, want, werr)
		}
		var viaJSON, viaCodec ticket.Ticket
		if err := json.Unmarshal(want, &viaJSON); err != nil {
			t.Fatal(err)
		}
		rd := jsonReader{b: want}
		if !rd.ticket(&viaCodec) || !rd.end() {
			t.Fatalf("ticket %d: the fast path gave up on json.Marshal's output at byte %d:\n%s", i, rd.i, want)
		}
		if !reflect.DeepEqual(viaCodec, viaJSON) {
			t.Fatalf("ticket %d: decoded\n%+v\nwant\n%+v\nfrom %s", i, viaCodec, viaJSON, want)
		}
	}
}

// A year past 9999 cannot be written; the error is json.Marshal's.
func TestTicketCodecRefusesWhatJSONRefuses(t *testing.T) {
	tk := &ticket.Ticket{ID: 1, Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	_, werr := json.Marshal(tk)
	_, gerr := marshalTicket(tk)
	if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
		t.Errorf("marshalTicket error %v, json.Marshal %v", gerr, werr)
	}
}

// Whatever bytes a ticket holds, unmarshalTicket gives what json.Unmarshal
// gives: the fast path either agrees or leaves the decision to it.
func FuzzTicketDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		b, err := json.Marshal(randomTicket(r))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"id":1,"case":"a","case":null}`, `{"id":1,"ID":2}`, `{"id":1,"unknown":[1,2]}`, `null`,
		`{"id":-0}`, `{"priority":-0}`, `{"priority":1.0}`, `{"priority":1e2}`, `{"priority":01}`,
		`{"subject":"\ud83c\udfab"}`, `{"subject":"\ud800"}`, `{"subject":"\u00e9\/\"\\"}`, `{"subject":"a\u0000b"}`,
		`{"created":"2027-01-04T08:00:00+01:00"}`, `{"created":"2027-01-04T08:00:00.5Z","updated":null}`,
		`{"created":"bad"}`, `{"events":[null,{"at":"2027-01-04T08:00:00Z"}]}`, `{"sla":{"clocks":[null,{}]}}`,
		`{"sla":null,"participants":[]}`, `{"id":18446744073709551615}`, `{"id":18446744073709551616}`,
		`{"priority":9223372036854775807}`, `{"priority":-9223372036854775808}`, `{"id":1} x`, `{"id":1}  `,
		` {"id" : 1 , "flags" : [ "a" , "b" ] } `, `{"subject":"tab	in"}`, "{\"subject\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var viaJSON, viaCodec ticket.Ticket
		jerr := json.Unmarshal(data, &viaJSON)
		cerr := unmarshalTicket(data, &viaCodec)
		if (jerr != nil) != (cerr != nil) {
			t.Fatalf("json.Unmarshal: %v, unmarshalTicket: %v", jerr, cerr)
		}
		if jerr == nil && !reflect.DeepEqual(viaCodec, viaJSON) {
			t.Fatalf("decoded\n%+v\nwant\n%+v", viaCodec, viaJSON)
		}
	})
}

func benchTicketJSON() *ticket.Ticket {
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

func BenchmarkTicketJSON(b *testing.B) {
	tk := benchTicketJSON()
	data, _ := json.Marshal(tk)
	b.Run("decode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var t ticket.Ticket
			if err := json.Unmarshal(data, &t); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode/codec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var t ticket.Ticket
			if err := unmarshalTicket(data, &t); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(tk); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode/codec", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := marshalTicket(tk); err != nil {
				b.Fatal(err)
			}
		}
	})
}
