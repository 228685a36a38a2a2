package store

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// Records on disk were written by encoding/json (or by a codec that wrote
// exactly its bytes). checkCompat holds the store's codec to the two
// promises of codec.go for one such record, old: the store reads it to
// the value encoding/json reads, and what the store writes for that value
// encoding/json and the store read back to the same value.
func checkCompat[T any](t *testing.T, old []byte) {
	t.Helper()
	var want, got, viaStd, viaStore T
	if err := json.Unmarshal(old, &want); err != nil {
		t.Fatalf("encoding/json cannot read the old record: %v\n%s", err, old)
	}
	if err := decodeRecord(old, &got); err != nil {
		t.Fatalf("old record: decode: %v\n%s", err, old)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("old record decoded to\n%+v\nencoding/json reads\n%+v\nfrom %s", got, want, old)
	}
	data, err := encodeRecord(&want)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if err := json.Unmarshal(data, &viaStd); err != nil || !reflect.DeepEqual(viaStd, want) {
		t.Fatalf("encoding/json reads what the store writes as\n%+v, %v\nwant\n%+v\nfrom %s", viaStd, err, want, data)
	}
	if err := decodeRecord(data, &viaStore); err != nil || !reflect.DeepEqual(viaStore, want) {
		t.Fatalf("the store reads what it writes as\n%+v, %v\nwant\n%+v\nfrom %s", viaStore, err, want, data)
	}
}

// oldRecords are records from a file the daemon wrote before the store
// switched codecs (commit dfe917d, bytes exactly encoding/json's): a
// ticket through intake, SLA warnings, breaches and an escalation, an
// engineer's note and logged time, its history, outbox envelopes (one
// deferred, one failed), an intake checkpoint and rate windows. They lie
// in testdata/records-v1/BUCKET/KEY-IN-HEX.json.
func oldRecords(t *testing.T) map[string]map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "records-v1", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no old records: %v", err)
	}
	out := map[string]map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		bucket := filepath.Base(filepath.Dir(f))
		key, err := hex.DecodeString(strings.TrimSuffix(filepath.Base(f), ".json"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if out[bucket] == nil {
			out[bucket] = map[string][]byte{}
		}
		out[bucket][string(key)] = data
	}
	return out
}

func TestOldRecordsDecode(t *testing.T) {
	check := map[string]func(*testing.T, []byte){
		"tickets":       checkCompat[ticket.Ticket],
		"entries":       checkCompat[ticket.Entry],
		"outbox":        checkCompat[mailer.Envelope],
		"outbox_failed": checkCompat[mailer.Envelope],
		"intake":        checkCompat[mailer.Checkpoint],
		"autoreply":     checkCompat[ticket.RateWindow],
	}
	for bucket, records := range oldRecords(t) {
		for key, data := range records {
			t.Run(bucket+"/"+hex.EncodeToString([]byte(key)), func(t *testing.T) {
				check[bucket](t, data)
			})
		}
	}
}

// A file written before the switch opens, and every record reads through
// the store's methods as encoding/json reads it.
func TestOldFileReads(t *testing.T) {
	records := oldRecords(t)
	db := openTemp(t)
	// The records go in as the old store left them, byte for byte.
	err := db.bolt.Update(func(btx *bolt.Tx) error {
		for bucket, kv := range records {
			for k, v := range kv {
				if err := btx.Bucket([]byte(bucket)).Put([]byte(k), v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	stdRead := func(data []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
	view(t, db, func(tx ticket.Tx) error {
		var want ticket.Ticket
		stdRead(records["tickets"][string(u64(1))], &want)
		got, err := tx.Ticket(1)
		if err != nil || !reflect.DeepEqual(got, &want) {
			t.Errorf("Ticket(1) = %+v, %v\nwant %+v", got, err, &want)
		}
		if want.SLA == nil || len(want.SLA.Clocks) != 2 || want.SLA.Clocks[0].Steps != 1 || len(want.TimeLog) != 1 {
			t.Errorf("the old ticket lacks the parts it was chosen for: %+v", want)
		}
		entries, err := tx.Entries(1)
		if err != nil || len(entries) != 3 {
			t.Fatalf("Entries(1) = %d entries, %v; want 3", len(entries), err)
		}
		for _, e := range entries {
			var want ticket.Entry
			stdRead(records["entries"][string(entryKey(1, e.Seq))], &want)
			if !reflect.DeepEqual(e, &want) {
				t.Errorf("entry %d = %+v\nwant %+v", e.Seq, e, &want)
			}
		}
		var cp mailer.Checkpoint
		stdRead(records["intake"]["INBOX"], &cp)
		if got, err := tx.Checkpoint("INBOX"); err != nil || got != cp || cp.LastUID == 0 {
			t.Errorf("Checkpoint = %+v, %v; want %+v", got, err, cp)
		}
		for key, data := range records["autoreply"] {
			var w ticket.RateWindow
			stdRead(data, &w)
			if got, err := tx.RateWindow(key); err != nil || got != w || w.Empty() {
				t.Errorf("RateWindow(%q) = %+v, %v; want %+v", key, got, err, w)
			}
		}
		return nil
	})
	seen := map[string]int{}
	err = db.Outbox(func(env mailer.Envelope, failed bool) error {
		bucket := map[bool]string{false: "outbox", true: "outbox_failed"}[failed]
		seen[bucket]++
		var want mailer.Envelope
		stdRead(records[bucket][string(u64(env.ID))], &want)
		if !reflect.DeepEqual(env, want) || len(want.Raw) == 0 {
			t.Errorf("%s envelope %d = %+v\nwant %+v", bucket, env.ID, env, want)
		}
		return nil
	})
	if err != nil || seen["outbox"] != len(records["outbox"]) || seen["outbox_failed"] != len(records["outbox_failed"]) {
		t.Errorf("Outbox: %v, saw %v", err, seen)
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

func randomEntry(r *rand.Rand) *ticket.Entry {
	x := randomTicket(r) // its strings and times
	pick := func(s ...string) string { return s[r.IntN(len(s))] }
	return &ticket.Entry{
		Seq: []uint32{0, 1, 1 << 31, ^uint32(0)}[r.IntN(4)], Direction: ticket.Direction(pick(x.Case, "in", "out")),
		MessageID: x.Subject, From: x.Customer, To: x.Participants, Subject: x.Language, Date: x.Created,
		Received: x.Updated, Kind: x.LinkedTo, Purpose: x.LastInbound, Text: x.Assignee + "\n" + x.NotifyRoot,
		Attachments: x.Priority, ParseError: x.Agreement, Truncated: r.IntN(2) == 0, RawKey: x.ResponseBy,
		Note: r.IntN(2) == 0, Author: pick("", x.Case),
	}
}

func randomEnvelope(r *rand.Rand) *mailer.Envelope {
	x := randomTicket(r)
	env := &mailer.Envelope{ID: x.ID, From: x.Case, To: x.Participants, Purpose: x.Subject, Case: x.Customer,
		MessageID: x.Language, Created: x.Created, Attempts: x.Priority, NextAttempt: x.Updated, LastError: x.Assignee}
	switch r.IntN(3) {
	case 0:
		env.Raw = randomBytes(r.Uint64(), r.IntN(3000))
	case 1:
		env.Raw = []byte{}
	}
	return env
}

// stdJSON is the old record of v: what encoding/json wrote for it.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestRecordsRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 500 {
		checkCompat[ticket.Ticket](t, stdJSON(t, randomTicket(r)))
		checkCompat[ticket.Entry](t, stdJSON(t, randomEntry(r)))
		checkCompat[mailer.Envelope](t, stdJSON(t, randomEnvelope(r)))
	}
}

// What the code relies on, and what someone reading a record with jq
// sees, case by case.
func TestRecordJSON(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 15, 3, 123456789, time.FixedZone("", 3600))
	clock := &ticket.Clock{Promise: sla.PromiseFirstResponse, Target: "4h", Start: at, Budget: 4 * time.Hour}
	tests := []struct {
		name    string
		v       any
		has     []string // in the encoding
		hasNot  []string
		decoded func(data []byte) bool // read back with decodeRecord
	}{
		{"nil_slices_stay_nil", &ticket.Ticket{ID: 1}, []string{`"participants":null`, `"events":null`}, []string{`"flags"`},
			func(data []byte) bool {
				var tk ticket.Ticket
				return decodeRecord(data, &tk) == nil && tk.Participants == nil && tk.Events == nil
			}},
		{"empty_slices_stay_empty", &ticket.Ticket{ID: 1, Participants: []string{}, Events: []ticket.Event{}},
			[]string{`"participants":[]`, `"events":[]`}, nil,
			func(data []byte) bool {
				var tk ticket.Ticket
				return decodeRecord(data, &tk) == nil && tk.Participants != nil && len(tk.Participants) == 0 &&
					tk.Events != nil && len(tk.Events) == 0
			}},
		{"durations_are_nanoseconds_and_zero_fields_are_left_out", &ticket.Ticket{ID: 1, SLA: &ticket.SLAState{Clocks: []*ticket.Clock{clock}}},
			[]string{`"budget":14400000000000`, `"start":"2026-03-02T09:15:03.123456789+01:00"`},
			[]string{`"used"`, `"steps"`, `"due"`, `"resolved_at"`, `"assignee"`},
			func(data []byte) bool {
				var tk ticket.Ticket
				return decodeRecord(data, &tk) == nil && reflect.DeepEqual(tk.SLA.Clocks[0], clock)
			}},
		{"false_and_zero_are_left_out", &ticket.Entry{Seq: 1, Text: "x"}, []string{`"seq":1`, `"text":"x"`},
			[]string{`"note"`, `"truncated"`, `"attachments"`, `"to"`}, nil},
		{"bytes_are_base64", &mailer.Envelope{ID: 1, Raw: []byte("hi")}, []string{`"raw":"aGk="`}, nil, nil},
		{"nil_bytes_are_null", &mailer.Envelope{ID: 1}, []string{`"raw":null`}, nil,
			func(data []byte) bool {
				var env mailer.Envelope
				return decodeRecord(data, &env) == nil && env.Raw == nil
			}},
		{"invalid_utf8_becomes_replacement_character", &ticket.Entry{Subject: "bad \xff"}, nil, nil,
			func(data []byte) bool {
				var e ticket.Entry
				return decodeRecord(data, &e) == nil && e.Subject == "bad \ufffd"
			}},
		{"html_is_not_escaped", &ticket.Entry{From: "Tom & Jerry <tj@example.com>"}, []string{`"from":"Tom & Jerry <tj@example.com>"`}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodeRecord(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.has {
				if !bytes.Contains(data, []byte(s)) {
					t.Errorf("no %s in %s", s, data)
				}
			}
			for _, s := range tt.hasNot {
				if bytes.Contains(data, []byte(s)) {
					t.Errorf("%s in %s", s, data)
				}
			}
			if tt.decoded != nil && !tt.decoded(data) {
				t.Errorf("decoded wrongly from %s", data)
			}
		})
	}
}

// A year past 9999 has no RFC 3339 form: the ticket is refused, not
// written so that it cannot be read.
func TestRecordRefusesYearPast9999(t *testing.T) {
	db := openTemp(t)
	err := db.Update(func(tx ticket.Tx) error {
		return tx.PutTicket(&ticket.Ticket{ID: 1, Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	})
	if err == nil || !strings.Contains(err.Error(), "put ticket 1") {
		t.Fatalf("PutTicket of year 10000: %v; want an error naming the ticket", err)
	}
}

// fuzzCompat feeds checkCompat the old record of whatever value
// encoding/json reads from the fuzzer's bytes, so that the fuzzer explores
// the records encoding/json could have written.
func fuzzCompat[T any](f *testing.F, seeds ...any) {
	for _, s := range seeds {
		f.Add(stdJSON(f, s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v T
		if json.Unmarshal(data, &v) != nil {
			return
		}
		old, err := json.Marshal(&v)
		if err != nil {
			return // encoding/json never wrote such a record
		}
		checkCompat[T](t, old)
	})
}

func FuzzTicketRecord(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	var seeds []any
	for range 10 {
		seeds = append(seeds, randomTicket(r))
	}
	f.Add([]byte(`{"id":1,"created":"2027-01-04T08:00:00+00:00","sla":{"clocks":[null,{"budget":1}]}}`))
	fuzzCompat[ticket.Ticket](f, seeds...)
}

func FuzzEntryRecord(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	var seeds []any
	for range 10 {
		seeds = append(seeds, randomEntry(r))
	}
	f.Add([]byte(`{"seq":4294967295,"to":[],"note":true,"text":"\u003e quoted\nline"}`))
	fuzzCompat[ticket.Entry](f, seeds...)
}
