package store

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The hand-written codecs of entries and envelopes must know every field;
// when a type changes, bring entryjson.go or envelopejson.go up to date.
func TestEntryAndEnvelopeCodecsCoverTheirTypes(t *testing.T) {
	if entryCodecOff != "" {
		t.Errorf("the entry codec is off: %s", entryCodecOff)
	}
	if envelopeCodecOff != "" {
		t.Errorf("the envelope codec is off: %s", envelopeCodecOff)
	}
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

func TestEntryCodecMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for i := range 3000 {
		e := randomEntry(r)
		want, werr := json.Marshal(e)
		got, gerr := marshalEntry(e)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("entry %d: marshalEntry =\n%s, %v\njson.Marshal =\n%s, %v", i, got, gerr, want, werr)
		}
		var viaJSON, viaCodec ticket.Entry
		if err := json.Unmarshal(want, &viaJSON); err != nil {
			t.Fatal(err)
		}
		rd := jsonReader{b: want}
		if !rd.entry(&viaCodec) || !rd.end() {
			t.Fatalf("entry %d: the fast path gave up on json.Marshal's output at byte %d:\n%s", i, rd.i, want)
		}
		if !reflect.DeepEqual(viaCodec, viaJSON) {
			t.Fatalf("entry %d: decoded\n%+v\nwant\n%+v", i, viaCodec, viaJSON)
		}
	}
}

func TestEnvelopeCodecMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for i := range 3000 {
		x := randomTicket(r)
		env := &mailer.Envelope{ID: x.ID, From: x.Case, To: x.Participants, Purpose: x.Subject, Case: x.Customer,
			MessageID: x.Language, Created: x.Created, Attempts: x.Priority, NextAttempt: x.Updated, LastError: x.Assignee}
		switch r.IntN(3) {
		case 0:
			env.Raw = randomBytes(r.Uint64(), r.IntN(5000))
		case 1:
			env.Raw = []byte{}
		}
		want, werr := json.Marshal(env)
		got, gerr := marshalEnvelope(env)
		if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("envelope %d: marshalEnvelope =\n%s, %v\njson.Marshal =\n%s, %v", i, got, gerr, want, werr)
		}
	}
	env := &mailer.Envelope{ID: 1, Created: time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)}
	_, werr := json.Marshal(env)
	_, gerr := marshalEnvelope(env)
	if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
		t.Errorf("year -1: marshalEnvelope error %v, json.Marshal %v", gerr, werr)
	}
}

// Whatever bytes an entry holds, unmarshalEntry gives what json.Unmarshal
// gives.
func FuzzEntryDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 20 {
		b, err := json.Marshal(randomEntry(r))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"seq":4294967295}`, `{"seq":4294967296}`, `{"seq":-1}`, `{"note":true,"truncated":false}`,
		`{"note":null}`, `{"note":1}`, `{"note":tru}`, `{"note":true,"note":false}`, `{"to":null}`, `{"to":[]}`,
		`{"text":"\u003e quoted\nline"}`, `{"Text":"x"}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var viaJSON, viaCodec ticket.Entry
		jerr := json.Unmarshal(data, &viaJSON)
		cerr := unmarshalEntry(data, &viaCodec)
		if (jerr != nil) != (cerr != nil) {
			t.Fatalf("json.Unmarshal: %v, unmarshalEntry: %v", jerr, cerr)
		}
		if jerr == nil && !reflect.DeepEqual(viaCodec, viaJSON) {
			t.Fatalf("decoded\n%+v\nwant\n%+v", viaCodec, viaJSON)
		}
	})
}
