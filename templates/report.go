package templates

// AgreementReport is the data of the "report" template: the periodic
// report to an agreement's contacts. Every time and duration is
// preformatted by the caller.
type AgreementReport struct {
	Agreement string
	// Period is the period's label ("2026-Q3"); From and To its first and
	// last day ("2026-07-01", "2026-09-30").
	Period, From, To string
	// ByPriority has one row per priority 1–4.
	ByPriority               []PriorityCount
	OpenedTotal, ClosedTotal int
	FirstResponse            PromiseLine
	Resolution               PromiseLine
	// OpenCases are the cases open at the period's end, oldest first.
	OpenCases []ReportCase
	// Hours has one line per hour bank period inside the report's; none
	// without a bank.
	Hours       []HourLine
	SupportName string
}

// PriorityCount is cases opened and closed at one priority.
type PriorityCount struct {
	Priority       int
	Opened, Closed int
}

// PromiseLine totals one promise: kept, broken and still open; Median and
// Worst are "" when none was met.
type PromiseLine struct {
	Met, Breached, Open int
	Median, Worst       string
}

// ReportCase is a case open at a period's end; Age is e.g. "12d 3h".
type ReportCase struct {
	Case     string
	Subject  string
	Priority int
	Age      string
}

// HourLine is an hour bank's use in one of its periods. CarriedIn is the
// part of Allowance carried over, unused, from the period CarriedFrom;
// "" when none was.
type HourLine struct {
	Period                              string
	Allowance, Used, Remaining, Overage string
	CarriedIn, CarriedFrom              string
}
