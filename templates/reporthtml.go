package templates

import "time"

// AgreementReportHTML is the data of the "report" HTML template: the
// HTML part of the report mail. It shows what the text shows, from the
// same AgreementReport, and the cases per month as a chart with the
// figures in a table below it (images are often blocked, and a screen
// reader reads the table).
type AgreementReportHTML struct {
	AgreementReport
	// Months has one line per calendar month of the period, oldest
	// first.
	Months []MonthLine
	// ChartCID is the Content-ID of the chart image, which the HTML shows
	// as "cid:" + ChartCID; "" leaves the chart out (the table stays).
	// ChartWidth and ChartHeight are its size in pixels.
	ChartCID                string
	ChartWidth, ChartHeight int
	// OpenedColor and ClosedColor are the colours of the chart's two
	// series ("#2f6fb3"), for the legend.
	OpenedColor, ClosedColor string
}

// MonthLine is the cases opened and closed in one month; Month names it,
// e.g. "July 2026" (see MonthName).
type MonthLine struct {
	Month          string
	Opened, Closed int
}

// Month names per language. golang.org/x/text has no date formatting,
// and three languages need only these tables. The abbreviations are ASCII
// in every language, which a chart drawn with a plain bitmap font needs.
var (
	monthNames = map[string][12]string{
		"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		"nb": {"januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober", "november", "desember"},
		"sv": {"januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti", "september", "oktober", "november", "december"},
	}
	monthAbbrs = map[string][12]string{
		"en": {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},
		"nb": {"jan", "feb", "mar", "apr", "mai", "jun", "jul", "aug", "sep", "okt", "nov", "des"},
		"sv": {"jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"},
	}
)

// MonthName returns the month's name in lang, as written inside a
// sentence ("July", "juli"); languages fall back as in Render.
func MonthName(lang string, m time.Month) string { return monthIn(monthNames, lang, m) }

// MonthAbbr returns the month's three-letter abbreviation in lang ("Jul",
// "jul"); always ASCII.
func MonthAbbr(lang string, m time.Month) string { return monthIn(monthAbbrs, lang, m) }

func monthIn(table map[string][12]string, lang string, m time.Month) string {
	if m < time.January || m > time.December {
		return m.String() // %!Month(n): a bug shows, a customer sees no panic
	}
	names, ok := table[normalizeLang(lang)]
	if !ok {
		names = table[DefaultLanguage]
	}
	return names[m-1]
}
