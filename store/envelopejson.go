package store

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strconv"

	"github.com/helpdeskd/helpdeskd/mailer"
)

// Outbox envelopes are written by hand like tickets (see ticketjson.go):
// the scheduler queues a mail for every warning and breach. They are read
// with encoding/json; the sender reads one per delivery.

// marshalEnvelope is json.Marshal(env).
func marshalEnvelope(env *mailer.Envelope) ([]byte, error) {
	if envelopeCodecOff == "" {
		// Room for everything but escapes, so that it is allocated once.
		n := 200 + base64.StdEncoding.EncodedLen(len(env.Raw)) + len(env.From) + len(env.Purpose) +
			len(env.Case) + len(env.MessageID) + len(env.LastError)
		for _, a := range env.To {
			n += len(a) + 3
		}
		if b, ok := appendEnvelope(make([]byte, 0, n), env); ok {
			return b, nil
		}
	}
	return json.Marshal(env)
}

var envelopeCodecOff = func() string {
	if got := typeLayout(reflect.TypeFor[mailer.Envelope]()); got != envelopeCodecLayout {
		return "mailer.Envelope changed:\n" + got
	}
	return ""
}()

const envelopeCodecLayout = `Envelope.ID uint64 json:"id"
Envelope.From string json:"from"
Envelope.To []string json:"to"
Envelope.Raw []uint8 json:"raw"
Envelope.Purpose string json:"purpose"
Envelope.Case string json:"case,omitempty"
Envelope.MessageID string json:"message_id"
Envelope.Created time.Time json:"created"
Envelope.Attempts int json:"attempts"
Envelope.NextAttempt time.Time json:"next_attempt"
Envelope.LastError string json:"last_error,omitempty"
`

func appendEnvelope(b []byte, env *mailer.Envelope) ([]byte, bool) {
	ok := true
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, env.ID, 10)
	b = appendKey(b, "from")
	b = appendString(b, env.From)
	b = appendKey(b, "to")
	b = appendStrings(b, env.To)
	b = appendKey(b, "raw")
	if env.Raw == nil {
		b = append(b, "null"...)
	} else {
		// encoding/json writes a []byte as standard base64.
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, env.Raw)
		b = append(b, '"')
	}
	b = appendKey(b, "purpose")
	b = appendString(b, env.Purpose)
	b = appendOptString(b, "case", env.Case)
	b = appendKey(b, "message_id")
	b = appendString(b, env.MessageID)
	b = appendKey(b, "created")
	b = appendTime(b, env.Created, &ok)
	b = appendKey(b, "attempts")
	b = strconv.AppendInt(b, int64(env.Attempts), 10)
	b = appendKey(b, "next_attempt")
	b = appendTime(b, env.NextAttempt, &ok)
	b = appendOptString(b, "last_error", env.LastError)
	return append(b, '}'), ok
}
