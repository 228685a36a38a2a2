package templates

// Notify is the data of "notify": a new ticket or a customer's follow-up,
// mailed to the engineers.
type Notify struct {
	Case, Tag, Subject string
	New                bool   // a new ticket, else a follow-up
	CustomerName       string // may be ""
	CustomerAddr       string
	Kind               string // "normal", "auto-reply", "bounce", "list"
	Agreement          string
	Priority           int
	State              string
	ResponseBy         string // the first-response promise, "" when none
	// HourBank is the agreement's hour bank in the current period; nil
	// without one.
	HourBank           *HourBalance
	Participants       []string
	Text               string // the customer's text
	Attachments        []string
	SkippedAttachments []string
	Marker             string // the reply marker line
	CommandHelp        string
}

// Note is the data of "note": an engineer's internal note, mailed to the
// other engineers.
type Note struct {
	Case, Tag, Subject string
	Author             string
	Text               string
	Marker             string
}

// Confirm is the data of "confirm": what an engineer's #commands did.
type Confirm struct {
	Case, Tag, Subject string
	Done               []string
	State              string
	Priority           int
	Assignee           string // "" when unassigned
}

// CommandError is the data of "command-error": an engineer's mail whose
// commands could not all be read; nothing was changed.
type CommandError struct {
	Case, Tag, Subject string
	Errors             []string
	CommandHelp        string
}

// NoCase is the data of "no-case": an engineer's mail that names no case.
type NoCase struct {
	Subject     string
	CommandHelp string
}

// Resolved is the data of "resolved": the customer is told the case is
// resolved and how to reopen it.
type Resolved struct {
	Case, Tag, Subject string
	CustomerName       string
	SupportName        string
	ReopenDays         int
}

// HourBalance is an hour bank's state in a period, for engineers.
type HourBalance struct {
	// Period is the period's label: "2026-Q4", "2026-03", "2026".
	Period string
	// Allowance (with any hours carried in), Used, Remaining and Overage
	// are preformatted durations ("15h", "12h30m"); Overage is "" when
	// there is none.
	Allowance, Used, Remaining, Overage string
}
