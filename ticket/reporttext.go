package ticket

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"time"

	"github.com/helpdeskd/helpdeskd/templates"
)

// RenderReport renders r in lang as the report mail's text and its CSV
// attachment (one line per figure: section, key, value).
func RenderReport(r *AgreementReport, lang, supportName string) (templates.Rendered, []byte, error) {
	text, err := templates.Render(lang, "report", reportData(r, supportName))
	if err != nil {
		return templates.Rendered{}, nil, err
	}
	return text, reportCSV(r), nil
}

// reportData is r as the report templates show it: the text, and the HTML
// part (RenderReportHTML) as well.
func reportData(r *AgreementReport, supportName string) templates.AgreementReport {
	data := templates.AgreementReport{
		Agreement: r.Agreement, Period: r.Label, From: r.Start.Format(time.DateOnly),
		To: r.End.Add(-time.Nanosecond).Format(time.DateOnly), OpenedTotal: r.OpenedTotal(), ClosedTotal: r.ClosedTotal(),
		FirstResponse: promiseLine(r.FirstResponse), Resolution: promiseLine(r.Resolution), SupportName: supportName,
	}
	for p := 1; p <= 4; p++ {
		data.ByPriority = append(data.ByPriority, templates.PriorityCount{Priority: p, Opened: r.Opened[p], Closed: r.Closed[p]})
	}
	for _, c := range r.OpenAtEnd {
		data.OpenCases = append(data.OpenCases, templates.ReportCase{Case: c.Case, Subject: c.Subject, Priority: c.Priority, Age: formatSpan(c.Age)})
	}
	for _, u := range r.Hours {
		h := templates.HourLine{Period: u.Label, Allowance: formatWork(u.Allowance), Used: formatWork(u.Used), Remaining: formatWork(u.Remaining)}
		if u.Overage > 0 {
			h.Overage = formatWork(u.Overage)
		}
		if u.CarriedIn > 0 {
			h.CarriedIn, h.CarriedFrom = formatWork(u.CarriedIn), u.CarriedFrom
		}
		data.Hours = append(data.Hours, h)
	}
	return data
}

func promiseLine(s PromiseStats) templates.PromiseLine {
	l := templates.PromiseLine{Met: s.Met, Breached: s.Breached, Open: s.Open}
	if s.Met > 0 {
		l.Median, l.Worst = formatSpan(s.Median), formatSpan(s.Worst)
	}
	return l
}

// formatSpan writes a long duration as days and hours ("3d 4h"), a short
// one as work is written ("1h30m").
func formatSpan(d time.Duration) string {
	if d < 24*time.Hour {
		return formatWork(d.Round(time.Minute))
	}
	return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

func reportCSV(r *AgreementReport) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	mins := func(d time.Duration) string { return strconv.Itoa(int(d / time.Minute)) }
	rec := func(f ...string) { _ = w.Write(f) } // a bytes.Buffer does not fail
	rec("section", "key", "value")
	rec("period", "agreement", r.Agreement)
	rec("period", "label", r.Label)
	rec("period", "from", r.Start.Format(time.DateOnly))
	rec("period", "to", r.End.Add(-time.Nanosecond).Format(time.DateOnly))
	for p := 1; p <= 4; p++ {
		rec("opened", "priority "+strconv.Itoa(p), strconv.Itoa(r.Opened[p]))
		rec("closed", "priority "+strconv.Itoa(p), strconv.Itoa(r.Closed[p]))
	}
	for _, ps := range []struct {
		name string
		s    PromiseStats
	}{{"first-response", r.FirstResponse}, {"resolution", r.Resolution}} {
		rec(ps.name, "met", strconv.Itoa(ps.s.Met))
		rec(ps.name, "breached", strconv.Itoa(ps.s.Breached))
		rec(ps.name, "open", strconv.Itoa(ps.s.Open))
		rec(ps.name, "median minutes", mins(ps.s.Median))
		rec(ps.name, "worst minutes", mins(ps.s.Worst))
	}
	for _, c := range r.OpenAtEnd {
		rec("open at end", c.Case, mins(c.Age))
	}
	for _, u := range r.Hours {
		rec("hour bank "+u.Label, "allowance minutes", mins(u.Allowance))
		if u.CarriedIn > 0 {
			// Part of the allowance above, carried over from u.CarriedFrom.
			rec("hour bank "+u.Label, "carried in minutes", mins(u.CarriedIn))
		}
		rec("hour bank "+u.Label, "used minutes", mins(u.Used))
		rec("hour bank "+u.Label, "overage minutes", mins(u.Overage))
	}
	w.Flush()
	return b.Bytes()
}
