package templates

// HourBankNotice is the data of the "hours-warn" template: the mail to an
// agreement's contacts and the engineers when the hour bank of a period
// reaches its warn level, or is used up and work goes into overage.
type HourBankNotice struct {
	Agreement string
	// Period is the period's label: "2026-Q4", "2026-03", "2026".
	Period string
	// Allowance, Used, Remaining and Overage are preformatted durations
	// ("15h", "12h30m"); Remaining is "0m" once the bank is used up.
	Allowance string
	Used      string
	Remaining string
	Overage   string
	// CarriedIn is the part of Allowance carried over, unused, from the
	// previous period CarriedFrom ("2026-Q3"); "" when none was.
	CarriedIn   string
	CarriedFrom string
	// Percent is the share of the allowance used, rounded down.
	Percent int
	// Over is set when work went beyond the bank (Overage is then set);
	// unset, the mail warns that the warn level was reached.
	Over        bool
	SupportName string
}
