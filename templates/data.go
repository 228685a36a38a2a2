package templates

// Ack is the data of the "ack" template: the acknowledgement a customer
// gets at once for a new ticket.
type Ack struct {
	// Case is the case number alone, e.g. "HD-000042".
	Case string
	// Tag is the case tag as it appears in subjects, e.g. "[#HD-000042]".
	Tag string
	// Subject is the customer's subject without our tag and without any
	// Re:/Fwd: prefixes; "" gives a neutral subject.
	Subject string
	// CustomerName is how to greet the customer; "" greets without a name.
	CustomerName string
	// SupportName signs the mail; "" signs with a generic team name.
	SupportName string
	// ResponseBy is "" when we promise no response time, else a
	// preformatted deadline in the mail's language, e.g. "Monday 4 January
	// 2027 10:30 CET, within 4 business hours".
	ResponseBy string
	// MissingFields lists information the customer still has to send, in
	// the mail's language; empty when nothing is missing.
	MissingFields []string
	// Truncated is set when the mail was too large and only its first part
	// was kept.
	Truncated bool
}
