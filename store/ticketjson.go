package store

import (
	"encoding/json"
	"reflect"
	"strconv"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// Tickets are stored as the JSON encoding/json writes for them, but
// written and read by hand: the scheduler reads and writes a ticket for
// every deadline it handles, and reflection-driven encoding/json was a
// third of that. The bytes are exactly json.Marshal's (tests compare them
// on random tickets), so files are the same either way.
//
// Reading takes a fast path for JSON as json.Marshal writes it and hands
// anything else — an unknown or repeated key, a string with invalid UTF-8
// or a surrogate escape, a number that is not a plain integer, trailing
// data — to json.Unmarshal, which then decides. Both give the same ticket
// wherever the fast path succeeds (a fuzz test holds it to that).
//
// The code follows the fields of ticket.Ticket and the types inside it.
// If those change, ticketCodecLayout no longer matches them and both
// directions fall back to encoding/json (slower, never wrong) until this
// file is brought up to date; TestTicketCodecCoversTicket fails meanwhile.

// marshalTicket is json.Marshal(t).
func marshalTicket(t *ticket.Ticket) ([]byte, error) {
	if ticketCodecOff == "" {
		if b, ok := appendTicket(make([]byte, 0, ticketSizeHint(t)), t); ok {
			return b, nil
		}
	}
	return json.Marshal(t)
}

// ticketSizeHint is about the size of t's JSON without escapes, so that
// appendTicket allocates once.
func ticketSizeHint(t *ticket.Ticket) int {
	n := 400 + len(t.Case) + len(t.Subject) + len(t.Customer) + len(t.Language) + len(t.LinkedTo) +
		len(t.LastInbound) + len(t.Assignee) + len(t.NotifyRoot) + len(t.Agreement) + len(t.ResponseBy)
	for _, s := range t.Participants {
		n += len(s) + 3
	}
	for _, s := range t.Flags {
		n += len(s) + 3
	}
	for _, e := range t.Events {
		n += 60 + len(e.What) + len(e.Detail)
	}
	n += 80 * len(t.TimeLog)
	if st := t.SLA; st != nil {
		n += 80 + len(st.Plan) + len(st.Coverage) + len(st.PrioritySource) + 300*len(st.Clocks) + 150*len(st.Mails)
		for _, s := range st.MissingFields {
			n += len(s) + 3
		}
	}
	return n
}

// unmarshalTicket is json.Unmarshal(data, t) for a zero t.
func unmarshalTicket(data []byte, t *ticket.Ticket) error {
	if ticketCodecOff == "" {
		r := jsonReader{b: data}
		if r.ticket(t) && r.end() {
			return nil
		}
		*t = ticket.Ticket{}
	}
	return json.Unmarshal(data, t)
}

// ticketCodecOff says why the hand-written codec is not used ("" when it
// is): the ticket types no longer have the layout it was written for.
var ticketCodecOff = func() string {
	if got := typeLayout(reflect.TypeFor[ticket.Ticket]()); got != ticketCodecLayout {
		return "ticket types changed:\n" + got
	}
	return ""
}()

// ticketCodecLayout is typeLayout(ticket.Ticket) as this file knows it.
const ticketCodecLayout = `Ticket.ID uint64 json:"id"
Ticket.Case string json:"case"
Ticket.Subject string json:"subject"
Ticket.Customer string json:"customer"
Ticket.Participants []string json:"participants"
Ticket.State string json:"state"
Ticket.Priority int json:"priority"
Ticket.Language string json:"language"
Ticket.Created time.Time json:"created"
Ticket.Updated time.Time json:"updated"
Ticket.LinkedTo string json:"linked_to,omitempty"
Ticket.LastInbound string json:"last_inbound,omitempty"
Ticket.Flags []string json:"flags,omitempty"
Ticket.Events []Event json:"events"
Event.At time.Time json:"at"
Event.What string json:"what"
Event.Detail string json:"detail,omitempty"
Ticket.MessageCount int json:"message_count"
Ticket.Assignee string json:"assignee,omitempty"
Ticket.TimeLog []TimeEntry json:"time_log,omitempty"
TimeEntry.At time.Time json:"at"
TimeEntry.Engineer string json:"engineer"
TimeEntry.Minutes int json:"minutes"
Ticket.ResolvedAt time.Time json:"resolved_at,omitzero"
Ticket.NotifyRoot string json:"notify_root,omitempty"
Ticket.Agreement string json:"agreement,omitempty"
Ticket.ResponseBy string json:"response_by,omitempty"
Ticket.SLA *SLAState json:"sla,omitempty"
SLAState.Plan string json:"plan,omitempty"
SLAState.Coverage string json:"coverage"
SLAState.PrioritySource string json:"priority_source,omitempty"
SLAState.MissingFields []string json:"missing_fields,omitempty"
SLAState.Clocks []*Clock json:"clocks,omitempty"
Clock.Promise string json:"promise"
Clock.Target string json:"target"
Clock.Start time.Time json:"start"
Clock.Budget int64 json:"budget"
Clock.Used int64 json:"used,omitempty"
Clock.Since time.Time json:"since,omitzero"
Clock.Due time.Time json:"due,omitzero"
Clock.WarnAt time.Time json:"warn_at,omitzero"
Clock.Warned time.Time json:"warned,omitzero"
Clock.Breached time.Time json:"breached,omitzero"
Clock.Met time.Time json:"met,omitzero"
Clock.Steps int json:"steps,omitempty"
SLAState.Mails []*HeldMail json:"held_mails,omitempty"
HeldMail.At time.Time json:"at"
HeldMail.Kind string json:"kind"
HeldMail.Promise string json:"promise"
HeldMail.Step int json:"step,omitempty"
HeldMail.To []string json:"to"
`

// Writing.

func appendTicket(b []byte, t *ticket.Ticket) ([]byte, bool) {
	ok := true
	b = append(b, `{"id":`...)
	b = strconv.AppendUint(b, t.ID, 10)
	b = appendKey(b, "case")
	b = appendString(b, t.Case)
	b = appendKey(b, "subject")
	b = appendString(b, t.Subject)
	b = appendKey(b, "customer")
	b = appendString(b, t.Customer)
	b = appendKey(b, "participants")
	b = appendStrings(b, t.Participants)
	b = appendKey(b, "state")
	b = appendString(b, string(t.State))
	b = appendKey(b, "priority")
	b = strconv.AppendInt(b, int64(t.Priority), 10)
	b = appendKey(b, "language")
	b = appendString(b, t.Language)
	b = appendKey(b, "created")
	b = appendTime(b, t.Created, &ok)
	b = appendKey(b, "updated")
	b = appendTime(b, t.Updated, &ok)
	b = appendOptString(b, "linked_to", t.LinkedTo)
	b = appendOptString(b, "last_inbound", t.LastInbound)
	if len(t.Flags) > 0 {
		b = appendKey(b, "flags")
		b = appendStrings(b, t.Flags)
	}
	b = appendKey(b, "events")
	if t.Events == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range t.Events {
			if i > 0 {
				b = append(b, ',')
			}
			e := &t.Events[i]
			b = append(b, `{"at":`...)
			b = appendTime(b, e.At, &ok)
			b = appendKey(b, "what")
			b = appendString(b, e.What)
			b = appendOptString(b, "detail", e.Detail)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendKey(b, "message_count")
	b = strconv.AppendInt(b, int64(t.MessageCount), 10)
	b = appendOptString(b, "assignee", t.Assignee)
	if len(t.TimeLog) > 0 {
		b = appendKey(b, "time_log")
		b = append(b, '[')
		for i := range t.TimeLog {
			if i > 0 {
				b = append(b, ',')
			}
			e := &t.TimeLog[i]
			b = append(b, `{"at":`...)
			b = appendTime(b, e.At, &ok)
			b = appendKey(b, "engineer")
			b = appendString(b, e.Engineer)
			b = appendKey(b, "minutes")
			b = strconv.AppendInt(b, int64(e.Minutes), 10)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendOptTime(b, "resolved_at", t.ResolvedAt, &ok)
	b = appendOptString(b, "notify_root", t.NotifyRoot)
	b = appendOptString(b, "agreement", t.Agreement)
	b = appendOptString(b, "response_by", t.ResponseBy)
	if t.SLA != nil {
		b = appendKey(b, "sla")
		b = appendSLA(b, t.SLA, &ok)
	}
	b = append(b, '}')
	return b, ok
}

func appendSLA(b []byte, st *ticket.SLAState, ok *bool) []byte {
	// Coverage has no omitempty: the object is never empty, and the
	// first field decides whether a comma comes before the next.
	b = append(b, '{')
	if st.Plan != "" {
		b = append(b, `"plan":`...)
		b = appendString(b, st.Plan)
		b = append(b, ',')
	}
	b = append(b, `"coverage":`...)
	b = appendString(b, st.Coverage)
	b = appendOptString(b, "priority_source", st.PrioritySource)
	if len(st.MissingFields) > 0 {
		b = appendKey(b, "missing_fields")
		b = appendStrings(b, st.MissingFields)
	}
	if len(st.Clocks) > 0 {
		b = appendKey(b, "clocks")
		b = append(b, '[')
		for i, c := range st.Clocks {
			if i > 0 {
				b = append(b, ',')
			}
			if c == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, `{"promise":`...)
			b = appendString(b, string(c.Promise))
			b = appendKey(b, "target")
			b = appendString(b, c.Target)
			b = appendKey(b, "start")
			b = appendTime(b, c.Start, ok)
			b = appendKey(b, "budget")
			b = strconv.AppendInt(b, int64(c.Budget), 10)
			if c.Used != 0 {
				b = appendKey(b, "used")
				b = strconv.AppendInt(b, int64(c.Used), 10)
			}
			b = appendOptTime(b, "since", c.Since, ok)
			b = appendOptTime(b, "due", c.Due, ok)
			b = appendOptTime(b, "warn_at", c.WarnAt, ok)
			b = appendOptTime(b, "warned", c.Warned, ok)
			b = appendOptTime(b, "breached", c.Breached, ok)
			b = appendOptTime(b, "met", c.Met, ok)
			if c.Steps != 0 {
				b = appendKey(b, "steps")
				b = strconv.AppendInt(b, int64(c.Steps), 10)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(st.Mails) > 0 {
		b = appendKey(b, "held_mails")
		b = append(b, '[')
		for i, m := range st.Mails {
			if i > 0 {
				b = append(b, ',')
			}
			if m == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, `{"at":`...)
			b = appendTime(b, m.At, ok)
			b = appendKey(b, "kind")
			b = appendString(b, string(m.Kind))
			b = appendKey(b, "promise")
			b = appendString(b, string(m.Promise))
			if m.Step != 0 {
				b = appendKey(b, "step")
				b = strconv.AppendInt(b, int64(m.Step), 10)
			}
			b = appendKey(b, "to")
			b = appendStrings(b, m.To)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

func (r *jsonReader) ticket(t *ticket.Ticket) bool {
	if r.null() {
		return false // leaves t as it was; rare enough to leave to json
	}
	return r.object(func(key []byte) (uint64, bool) {
		switch string(key) {
		case "id":
			return 1 << 0, r.uint64(&t.ID)
		case "case":
			return 1 << 1, r.str(&t.Case)
		case "subject":
			return 1 << 2, r.str(&t.Subject)
		case "customer":
			return 1 << 3, r.str(&t.Customer)
		case "participants":
			return 1 << 4, r.strings(&t.Participants)
		case "state":
			var s string
			ok := r.str(&s)
			t.State = ticket.State(s)
			return 1 << 5, ok
		case "priority":
			return 1 << 6, r.int(&t.Priority)
		case "language":
			return 1 << 7, r.str(&t.Language)
		case "created":
			return 1 << 8, r.time(&t.Created)
		case "updated":
			return 1 << 9, r.time(&t.Updated)
		case "linked_to":
			return 1 << 10, r.str(&t.LinkedTo)
		case "last_inbound":
			return 1 << 11, r.str(&t.LastInbound)
		case "flags":
			return 1 << 12, r.strings(&t.Flags)
		case "events":
			return 1 << 13, r.events(&t.Events)
		case "message_count":
			return 1 << 14, r.int(&t.MessageCount)
		case "assignee":
			return 1 << 15, r.str(&t.Assignee)
		case "time_log":
			return 1 << 16, r.timeLog(&t.TimeLog)
		case "resolved_at":
			return 1 << 17, r.time(&t.ResolvedAt)
		case "notify_root":
			return 1 << 18, r.str(&t.NotifyRoot)
		case "agreement":
			return 1 << 19, r.str(&t.Agreement)
		case "response_by":
			return 1 << 20, r.str(&t.ResponseBy)
		case "sla":
			return 1 << 21, r.sla(&t.SLA)
		}
		return 0, false
	})
}

func (r *jsonReader) events(dst *[]ticket.Event) bool {
	var isNull bool
	// A ticket has a handful of events, and gains some when stored again.
	list := make([]ticket.Event, 0, 8)
	ok := r.array(&isNull, func() bool {
		var e ticket.Event
		if !r.null() && !r.object(func(key []byte) (uint64, bool) {
			switch string(key) {
			case "at":
				return 1 << 0, r.time(&e.At)
			case "what":
				return 1 << 1, r.str(&e.What)
			case "detail":
				return 1 << 2, r.str(&e.Detail)
			}
			return 0, false
		}) {
			return false
		}
		list = append(list, e)
		return true
	})
	if ok && !isNull {
		*dst = list
	}
	return ok
}

func (r *jsonReader) timeLog(dst *[]ticket.TimeEntry) bool {
	var isNull bool
	list := []ticket.TimeEntry{}
	ok := r.array(&isNull, func() bool {
		var e ticket.TimeEntry
		if !r.null() && !r.object(func(key []byte) (uint64, bool) {
			switch string(key) {
			case "at":
				return 1 << 0, r.time(&e.At)
			case "engineer":
				return 1 << 1, r.str(&e.Engineer)
			case "minutes":
				return 1 << 2, r.int(&e.Minutes)
			}
			return 0, false
		}) {
			return false
		}
		list = append(list, e)
		return true
	})
	if ok && !isNull {
		*dst = list
	}
	return ok
}

func (r *jsonReader) sla(dst **ticket.SLAState) bool {
	if r.null() {
		return true
	}
	st := &ticket.SLAState{}
	ok := r.object(func(key []byte) (uint64, bool) {
		switch string(key) {
		case "plan":
			return 1 << 0, r.str(&st.Plan)
		case "coverage":
			return 1 << 1, r.str(&st.Coverage)
		case "priority_source":
			return 1 << 2, r.str(&st.PrioritySource)
		case "missing_fields":
			return 1 << 3, r.strings(&st.MissingFields)
		case "clocks":
			return 1 << 4, r.clocks(&st.Clocks)
		case "held_mails":
			return 1 << 5, r.heldMails(&st.Mails)
		}
		return 0, false
	})
	*dst = st
	return ok
}

func (r *jsonReader) clocks(dst *[]*ticket.Clock) bool {
	var isNull bool
	list := []*ticket.Clock{}
	ok := r.array(&isNull, func() bool {
		if r.null() {
			list = append(list, nil)
			return true
		}
		c := &ticket.Clock{}
		list = append(list, c)
		return r.object(func(key []byte) (uint64, bool) {
			switch string(key) {
			case "promise":
				var s string
				ok := r.str(&s)
				c.Promise = sla.Promise(s)
				return 1 << 0, ok
			case "target":
				return 1 << 1, r.str(&c.Target)
			case "start":
				return 1 << 2, r.time(&c.Start)
			case "budget":
				return 1 << 3, r.duration(&c.Budget)
			case "used":
				return 1 << 4, r.duration(&c.Used)
			case "since":
				return 1 << 5, r.time(&c.Since)
			case "due":
				return 1 << 6, r.time(&c.Due)
			case "warn_at":
				return 1 << 7, r.time(&c.WarnAt)
			case "warned":
				return 1 << 8, r.time(&c.Warned)
			case "breached":
				return 1 << 9, r.time(&c.Breached)
			case "met":
				return 1 << 10, r.time(&c.Met)
			case "steps":
				return 1 << 11, r.int(&c.Steps)
			}
			return 0, false
		})
	})
	if ok && !isNull {
		*dst = list
	}
	return ok
}

func (r *jsonReader) heldMails(dst *[]*ticket.HeldMail) bool {
	var isNull bool
	list := []*ticket.HeldMail{}
	ok := r.array(&isNull, func() bool {
		if r.null() {
			list = append(list, nil)
			return true
		}
		m := &ticket.HeldMail{}
		list = append(list, m)
		return r.object(func(key []byte) (uint64, bool) {
			switch string(key) {
			case "at":
				return 1 << 0, r.time(&m.At)
			case "kind":
				var s string
				ok := r.str(&s)
				m.Kind = ticket.DeadlineKind(s)
				return 1 << 1, ok
			case "promise":
				var s string
				ok := r.str(&s)
				m.Promise = sla.Promise(s)
				return 1 << 2, ok
			case "step":
				return 1 << 3, r.int(&m.Step)
			case "to":
				return 1 << 4, r.strings(&m.To)
			}
			return 0, false
		})
	})
	if ok && !isNull {
		*dst = list
	}
	return ok
}
