package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// The case report: the tickets a customer opened in a period, how fast
// each was answered and resolved against the promises of its agreement,
// and which promises were broken (the Jotron annual report, the Trinax
// monthly/quarterly ones). Like the ticket queries it runs on any
// ticket.Store: the daemon serves it (GET /v1/report), `--file` runs it on
// a backup.
//
// Times are wall-clock (promise start to met); whether a promise was kept
// is the SLA clock's own verdict, in business time of the agreement's
// calendar.

// reportQuery selects the tickets of a report.
type reportQuery struct {
	Customer string    // address or domain, as ticketFilter
	From, To time.Time // created in [From, To); zero: unbounded
}

// reportRow is one ticket of a report.
type reportRow struct {
	Case      string       `json:"case"`
	Created   time.Time    `json:"created"`
	Customer  string       `json:"customer"`
	Subject   string       `json:"subject"`
	Agreement string       `json:"agreement,omitempty"`
	Priority  int          `json:"priority"`
	State     ticket.State `json:"state"`
	// Per promise (first-response, resolution, update).
	Promises []promiseRow `json:"promises"`
	Breaches int          `json:"breaches"`
}

// promiseRow is one promise of a ticket in a report.
type promiseRow struct {
	Promise string `json:"promise"`
	Target  string `json:"target"`
	// Took is start → met, wall-clock; zero while open.
	Took time.Duration `json:"took_ns,omitempty"`
	// Verdict: kept, late (met after breaching), breached (open and
	// broken), open (running or stopped, not yet due).
	Verdict string `json:"verdict"`
}

// reportSummary totals a report.
type reportSummary struct {
	Cases          int            `json:"cases"`
	ByPriority     map[int]int    `json:"by_priority"`
	Resolved       int            `json:"resolved"`
	WithBreach     int            `json:"with_breach"`
	FirstResponse  promiseSummary `json:"first_response"`
	Resolution     promiseSummary `json:"resolution"`
	NotCovered     int            `json:"not_covered"`
	TimeLoggedMins int            `json:"time_logged_minutes"`
}

// promiseSummary totals one promise over a report.
type promiseSummary struct {
	Kept, Late, Breached, Open int
	// Median and P90 of Took over the promises met.
	Median, P90 time.Duration
}

// report is GET /v1/report.
type report struct {
	Query   reportQueryJSON `json:"query"`
	Rows    []reportRow     `json:"rows"`
	Summary reportSummary   `json:"summary"`
}

type reportQueryJSON struct {
	Customer string    `json:"customer,omitempty"`
	From     time.Time `json:"from,omitzero"`
	To       time.Time `json:"to,omitzero"`
}

// buildReport runs q on st.
func buildReport(st ticket.Store, q reportQuery) (*report, error) {
	rep := &report{Query: reportQueryJSON(q), Rows: []reportRow{}, Summary: reportSummary{ByPriority: map[int]int{}}}
	f := ticketFilter{Customer: q.Customer}
	var fr, rs []time.Duration
	err := st.View(func(tx ticket.Tx) error {
		return tx.ForEachTicket(func(t *ticket.Ticket) error {
			if !f.match(t, time.Time{}) || (!q.From.IsZero() && t.Created.Before(q.From)) || (!q.To.IsZero() && !t.Created.Before(q.To)) {
				return nil
			}
			row := reportRow{Case: t.Case, Created: t.Created, Customer: t.Customer, Subject: t.Subject,
				Agreement: t.Agreement, Priority: t.Priority, State: t.State, Promises: []promiseRow{}}
			s := &rep.Summary
			s.Cases++
			s.ByPriority[t.Priority]++
			if t.State == ticket.StateResolved || t.State == ticket.StateClosed {
				s.Resolved++
			}
			for _, e := range t.TimeLog {
				s.TimeLoggedMins += e.Minutes
			}
			if t.SLA == nil || t.SLA.Plan == "" {
				s.NotCovered++
			} else {
				for _, c := range t.SLA.Clocks {
					p := promiseRow{Promise: string(c.Promise), Target: c.Target}
					switch {
					case !c.Met.IsZero() && c.Breached.IsZero():
						p.Verdict = "kept"
					case !c.Met.IsZero():
						p.Verdict = "late"
					case !c.Breached.IsZero():
						p.Verdict = "breached"
					default:
						p.Verdict = "open"
					}
					if !c.Met.IsZero() {
						p.Took = c.Met.Sub(c.Start)
					}
					if !c.Breached.IsZero() {
						row.Breaches++
					}
					var ps *promiseSummary
					var took *[]time.Duration
					switch c.Promise {
					case "first-response":
						ps, took = &s.FirstResponse, &fr
					case "resolution":
						ps, took = &s.Resolution, &rs
					}
					if ps != nil {
						switch p.Verdict {
						case "kept":
							ps.Kept++
						case "late":
							ps.Late++
						case "breached":
							ps.Breached++
						default:
							ps.Open++
						}
						if p.Took > 0 {
							*took = append(*took, p.Took)
						}
					}
					row.Promises = append(row.Promises, p)
				}
			}
			if row.Breaches > 0 {
				s.WithBreach++
			}
			rep.Rows = append(rep.Rows, row)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	rep.Summary.FirstResponse.Median, rep.Summary.FirstResponse.P90 = quantiles(fr)
	rep.Summary.Resolution.Median, rep.Summary.Resolution.P90 = quantiles(rs)
	return rep, nil
}

func quantiles(d []time.Duration) (median, p90 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*9/10)]
}

// parseDay reads YYYY-MM-DD as local midnight; "" is zero.
func parseDay(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: --%s %q is not a date like 2026-01-31", errBadRequest, flag, s)
	}
	return t, nil
}

func (a *adminServer) report(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var rq reportQuery
	var err error
	rq.Customer = q.Get("customer")
	if rq.From, err = parseTimeParam(q.Get("from")); err == nil {
		rq.To, err = parseTimeParam(q.Get("to"))
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err)
		return
	}
	rep, err := buildReport(a.d.db, rq)
	if err != nil {
		writeError(w, statusFor(err), err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func parseTimeParam(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
	}
	return t, nil
}

func newReportCmd() *cobra.Command {
	var ac adminFlags
	var customer, from, to, file string
	var asCSV, asJSON bool
	var ar agreementReportFlags // agreement_report_cmd.go
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Case report: tickets opened in a period, response and resolution against the agreement, breaches",
		Long: `report lists the tickets created from --from (inclusive) to --to
(exclusive), for one customer (an address or a mail domain) or all, with
each SLA promise's target, how long it took (wall-clock, start to met) and
whether it was kept (judged in business time by the SLA clock), followed
by totals. --csv writes one line per ticket and promise for spreadsheets.
Example, the annual report for example.com:

  helpdeskd report --customer example.com --from 2025-01-01 --to 2026-01-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ar.agreement != "" {
				ar.json, ar.csv = asJSON, asCSV
				return runAgreementReport(cmd, ac, file, ar)
			}
			var q reportQuery
			var err error
			q.Customer = customer
			if q.From, err = parseDay("from", from); err != nil {
				return err
			}
			if q.To, err = parseDay("to", to); err != nil {
				return err
			}
			var rep *report
			if file != "" {
				db, err := openOffline(file)
				if err != nil {
					return err
				}
				defer db.Close()
				if rep, err = buildReport(db, q); err != nil {
					return err
				}
			} else {
				c, err := ac.client()
				if err != nil {
					return err
				}
				v := url.Values{}
				if q.Customer != "" {
					v.Set("customer", q.Customer)
				}
				if !q.From.IsZero() {
					v.Set("from", q.From.Format(time.RFC3339))
				}
				if !q.To.IsZero() {
					v.Set("to", q.To.Format(time.RFC3339))
				}
				rep = &report{}
				if err := c.get(cmd.Context(), "/v1/report?"+v.Encode(), rep); err != nil {
					return err
				}
			}
			switch {
			case asJSON:
				return printJSON(cmd.OutOrStdout(), rep)
			case asCSV:
				return writeReportCSV(cmd.OutOrStdout(), rep)
			}
			printReport(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&customer, "customer", "", "only this customer: an address, or a domain such as example.com")
	cmd.Flags().StringVar(&from, "from", "", "first day, YYYY-MM-DD (local time; default: the beginning)")
	cmd.Flags().StringVar(&to, "to", "", "day after the last, YYYY-MM-DD (default: now)")
	cmd.Flags().BoolVar(&asCSV, "csv", false, "write CSV")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&file, "file", "", "read this database file (a backup) instead of asking the daemon")
	ar.register(cmd)
	ac.register(cmd)
	return cmd
}

func fmtTook(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	if d >= 48*time.Hour {
		return fmt.Sprintf("%.1fd", d.Hours()/24)
	}
	return d.Round(time.Minute).String()
}

func printReport(w io.Writer, rep *report) {
	who := rep.Query.Customer
	if who == "" {
		who = "all customers"
	}
	period := "all time"
	if !rep.Query.From.IsZero() || !rep.Query.To.IsZero() {
		f, t := "the beginning", "now"
		if !rep.Query.From.IsZero() {
			f = rep.Query.From.Local().Format(time.DateOnly)
		}
		if !rep.Query.To.IsZero() {
			t = rep.Query.To.Local().Format(time.DateOnly) + " (exclusive)"
		}
		period = f + " to " + t
	}
	fmt.Fprintf(w, "Case report for %s, %s\n\n", who, period)
	if len(rep.Rows) == 0 {
		fmt.Fprintln(w, "no cases")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tCREATED\tCUSTOMER\tPRI\tSTATE\tFIRST RESPONSE\tRESOLUTION\tSUBJECT")
	for _, r := range rep.Rows {
		promise := func(name string) string {
			for _, p := range r.Promises {
				if p.Promise == name {
					return fmt.Sprintf("%s/%s %s", fmtTook(p.Took), p.Target, p.Verdict)
				}
			}
			return "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Case, r.Created.Local().Format(timeLayout), r.Customer,
			r.Priority, r.State, promise("first-response"), promise("resolution"), oneLine(r.Subject, 50))
	}
	tw.Flush()
	s := rep.Summary
	fmt.Fprintf(w, "\n%d cases", s.Cases)
	var prios []int
	for p := range s.ByPriority {
		prios = append(prios, p)
	}
	slices.Sort(prios)
	var parts []string
	for _, p := range prios {
		parts = append(parts, fmt.Sprintf("priority %d: %d", p, s.ByPriority[p]))
	}
	fmt.Fprintf(w, " (%s); %d resolved; %d with a broken promise; %d not covered by an agreement\n", strings.Join(parts, ", "), s.Resolved, s.WithBreach, s.NotCovered)
	for _, ps := range []struct {
		name string
		s    promiseSummary
	}{{"first response", s.FirstResponse}, {"resolution", s.Resolution}} {
		n := ps.s.Kept + ps.s.Late + ps.s.Breached + ps.s.Open
		if n == 0 {
			continue
		}
		fmt.Fprintf(w, "%s: %d kept, %d late, %d breached, %d open", ps.name, ps.s.Kept, ps.s.Late, ps.s.Breached, ps.s.Open)
		if done := ps.s.Kept + ps.s.Late; done > 0 {
			fmt.Fprintf(w, "; kept %.0f%% of those met; median %s, 90%% within %s", 100*float64(ps.s.Kept)/float64(done), fmtTook(ps.s.Median), fmtTook(ps.s.P90))
		}
		fmt.Fprintln(w)
	}
	if s.TimeLoggedMins > 0 {
		fmt.Fprintf(w, "time logged: %s\n", (time.Duration(s.TimeLoggedMins) * time.Minute).String())
	}
}

// writeReportCSV writes one record per ticket and promise (a ticket
// without promises gets one record with empty promise columns).
func writeReportCSV(w io.Writer, rep *report) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"case", "created", "customer", "agreement", "priority", "state", "subject", "promise", "target", "took_minutes", "verdict"})
	for _, r := range rep.Rows {
		base := []string{r.Case, r.Created.Format(time.RFC3339), r.Customer, r.Agreement, strconv.Itoa(r.Priority), string(r.State), r.Subject}
		if len(r.Promises) == 0 {
			cw.Write(append(base, "", "", "", ""))
			continue
		}
		for _, p := range r.Promises {
			took := ""
			if p.Took > 0 {
				took = strconv.FormatFloat(p.Took.Minutes(), 'f', 1, 64)
			}
			cw.Write(append(slices.Clone(base), p.Promise, p.Target, took, p.Verdict))
		}
	}
	cw.Flush()
	return cw.Error()
}
