package store

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

// Every record the store keeps as a value (tickets, history entries,
// outbox envelopes, intake checkpoints, rate windows) is JSON, written and
// read here with github.com/go-json-experiment/json: the module that
// mirrors encoding/json/v2 (experimental in Go 1.26; once it is in the
// standard library this import can become "encoding/json/v2" with the
// same options). The scheduler reads
// and writes a ticket for every deadline it handles; this reads a ticket
// in less than half the time encoding/json takes (BenchmarkRecordJSON).
//
// Files written before hold encoding/json's bytes. With recordJSON the
// library reads those to the values encoding/json reads, and writes
// what encoding/json (and jq, and an older helpdeskd) reads back to the
// same values (TestOldRecordsDecode, TestOldFileReads,
// TestRecordsRoundTrip). Its bytes differ from encoding/json's only in
// leaving <, >, &, U+2028 and U+2029 unescaped.
var recordJSON = json.JoinOptions(
	// A nil slice stays null and an empty one [] in both directions: the
	// ticket code tells them apart (Participants, Events), and encoding/json
	// wrote them so.
	json.FormatNilSliceAsNull(true),
	// Clock.Budget and Used are integer nanoseconds, as encoding/json
	// wrote a time.Duration; v2 has no default for durations.
	jsonv1.FormatDurationAsNano(true),
	// omitempty also leaves out 0 and false (Clock.Steps, Entry.Note …),
	// as it did: records keep their size and look.
	jsonv1.OmitEmptyWithLegacySemantics(true),
	// Mail headers may hold invalid UTF-8; it is written as U+FFFD, as
	// encoding/json did, rather than refusing the ticket.
	jsontext.AllowInvalidUTF8(true),
)

// encodeRecord is the JSON of a record: v is a pointer to a ticket.Ticket,
// ticket.Entry, mailer.Envelope or another record type.
func encodeRecord(v any) ([]byte, error) {
	return json.Marshal(v, recordJSON)
}

// decodeRecord sets *v, a zero record, from its JSON.
func decodeRecord(data []byte, v any) error {
	return json.Unmarshal(data, v, recordJSON)
}
