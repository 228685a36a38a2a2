package ticket

import (
	"strconv"
	"strings"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/templates"
)

// RenderReportHTML renders r in lang as the HTML part of the report mail:
// what the text says (RenderReport), as tables, and a chart of the cases
// opened and closed per month. The chart is returned as an inline part for
// mailer.Outgoing.Inline, which the HTML shows by its Content-ID; with it
// goes a table of the same figures, for mail clients that block images
// and for screen readers. A report without months (not built by
// BuildAgreementReport) has no chart and no inline part. The same report
// gives the same bytes.
func RenderReportHTML(r *AgreementReport, lang, supportName string) (html string, inline []mailer.OutAttachment, err error) {
	data := templates.AgreementReportHTML{
		AgreementReport: reportData(r, supportName),
		OpenedColor:     hexColor(chartOpened), ClosedColor: hexColor(chartClosed),
	}
	labels := make([]string, len(r.Months))
	for i, m := range r.Months {
		labels[i] = templates.MonthAbbr(lang, m.Start.Month())
		data.Months = append(data.Months, templates.MonthLine{
			Month:  templates.MonthName(lang, m.Start.Month()) + " " + strconv.Itoa(m.Start.Year()),
			Opened: m.Opened, Closed: m.Closed,
		})
	}
	if len(r.Months) > 0 {
		img, err := reportChart(r.Months, labels)
		if err != nil {
			return "", nil, err
		}
		// World-unique enough for one mail, and stable, so that a
		// report rendered twice is the same mail.
		data.ChartCID = "chart-" + strings.ToLower(r.Label) + "@helpdeskd.report"
		data.ChartWidth, data.ChartHeight = chartWidth, chartHeight
		inline = []mailer.OutAttachment{{Filename: "cases-per-month-" + r.Label + ".png", ContentType: "image/png",
			ContentID: data.ChartCID, Data: img}}
	}
	html, err = templates.RenderHTML(lang, "report", data)
	if err != nil {
		return "", nil, err
	}
	return html, inline, nil
}
