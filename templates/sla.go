package templates

// NotCovered is the data of the "not-covered" template: the answer to a
// new request, instead of the acknowledgement, when the sender's support
// agreement is not in force (or, where so configured, when the sender has
// none).
type NotCovered struct {
	// Case, Tag, Subject, CustomerName and SupportName are as in Ack.
	Case         string
	Tag          string
	Subject      string
	CustomerName string
	SupportName  string
	// Expired is set when the sender's agreement has ended or not begun;
	// unset, the sender has no agreement at all.
	Expired bool
	// Until is the last day the agreement was valid, preformatted in the
	// mail's language ("31 December 2026"); "" when unknown.
	Until string
}

// SLAAlert is the data of the "sla-warn" and "sla-breach" templates: the
// internal mail that tells engineers a promise is about to be, or has
// been, broken.
type SLAAlert struct {
	Case string // "HD-000042"
	Tag  string // "[#HD-000042]"
	// Subject is the ticket's subject ("" for none).
	Subject string
	// Customer is the address of the customer who opened the ticket.
	Customer  string
	Agreement string
	Plan      string
	Priority  int
	// Promise names the promise in the mail's language: "first response".
	Promise string
	// Target is the plan's promise, e.g. "4h", "3bd", "nbd".
	Target string
	// Deadline is when the promise is due, preformatted with its zone.
	Deadline string
	// Left is the business time left ("1h30m"), set when not yet due;
	// Overdue the business time since the deadline, set when past it.
	Left    string
	Overdue string
	// Step is the escalation step after the breach (1, 2, …); 0 for the
	// warning and for the breach itself.
	Step int
	// LastMessage is the customer's latest message text, possibly
	// shortened; "" when there is none.
	LastMessage string
	SupportName string
}
