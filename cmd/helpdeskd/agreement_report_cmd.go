package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// Agreement reports through `helpdeskd report --agreement X --period P
// --print|--send`: the periodic report an agreement's contacts get,
// rendered in the agreement's language with its CSV attachment, previewed
// on stdout or queued to them again. Like `hours` it asks the running
// daemon (GET /v1/agreement-report, POST /v1/agreement-report/send), else
// works on the database file (agreement_client.go).

type agreementReportFlags struct {
	agreement, period string
	print, send       bool
	verbose           bool
	// json and csv are the report command's own --json and --csv.
	json, csv bool
	// html prints the HTML part as a page of its own (--html).
	html bool
}

// agreementReportHelp is the report command's help on agreement reports.
const agreementReportHelp = `

With --agreement, report shows or sends an agreement's periodic report
instead: --print previews the mail (in the agreement's language) and its
CSV attachment (--csv: only the CSV; --html: the HTML part with its chart,
a page to open in a browser, whether or not reports.html sends it;
--json: everything, with the figures); --send queues it to the agreement's report recipients again,
whether or not it went out before. Both go through the running daemon
(its current agreements; it sends at once); with no daemon running they
work on store.path with the configuration's agreements (a queued report
then goes out when the daemon starts). --file previews from a backup;
--send refuses it, as a backup is not the live desk. Example:

  helpdeskd report --agreement 'Trinax Alert!' --period 2026-Q3 --print`

func (f *agreementReportFlags) register(cmd *cobra.Command) {
	cmd.Long += agreementReportHelp
	cmd.Flags().StringVar(&f.agreement, "agreement", "", "agreement report: the agreement's name, as in the configuration")
	cmd.Flags().StringVar(&f.period, "period", "", "agreement report: the period, 2026-03, 2026-Q3 or 2026 (required with --agreement)")
	cmd.Flags().BoolVar(&f.print, "print", false, "agreement report: print the mail's text and CSV attachment")
	cmd.Flags().BoolVar(&f.html, "html", false, "agreement report with --print: print the HTML part as a page, chart inline (e.g. > report.html)")
	cmd.Flags().BoolVar(&f.send, "send", false, "agreement report: queue the report mail to the agreement's report recipients again (through the daemon; with it stopped, in store.path)")
	registerVerbose(cmd, &f.verbose)
}

// runAgreementReport runs `report --agreement`; ac finds the daemon and
// the configuration, file is --file.
func runAgreementReport(cmd *cobra.Command, ac adminFlags, file string, f agreementReportFlags) error {
	w := cmd.OutOrStdout()
	if f.period == "" {
		return usageError("--period is required with --agreement: 2026-03, 2026-Q3 or 2026")
	}
	if f.print == f.send {
		return usageError("--agreement needs one of --print (preview the report) and --send (queue it to the contacts)")
	}
	if f.html && !f.print {
		return usageError("--html goes with --print: it previews the report's HTML part")
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	t := deskTarget{admin: ac, file: file, verbose: f.verbose, diag: cmd.ErrOrStderr()}
	if f.send {
		req := reportSendRequest{Agreement: f.agreement, Period: f.period, Force: true}
		var rep *reportSendReply
		place, err := t.run(ctx, true,
			func(c *adminClient) (err error) { rep, err = c.sendReport(ctx, req); return err },
			func(env *agreementEnv) (err error) { rep, err = env.sendReport(req, time.Now()); return err })
		if err != nil {
			return cliError(err)
		}
		if f.json {
			return printJSON(w, rep)
		}
		printReportSent(w, rep, place)
		return nil
	}
	var rep *agreementReportReply
	_, err := t.run(ctx, false,
		func(c *adminClient) (err error) {
			rep, err = c.agreementReport(ctx, f.agreement, f.period, f.html)
			return err
		},
		func(env *agreementEnv) (err error) {
			rep, err = env.agreementReport(f.agreement, f.period, f.html)
			return err
		})
	if err != nil {
		return cliError(err)
	}
	switch {
	case f.json:
		return printJSON(w, rep)
	case f.csv:
		_, err := io.WriteString(w, rep.CSV)
		return err
	case f.html:
		_, err := io.WriteString(w, rep.HTML)
		return err
	}
	printAgreementReport(w, rep)
	return nil
}

// printAgreementReport prints the report mail: subject, text, then the
// CSV attachment under its file name.
func printAgreementReport(w io.Writer, rep *agreementReportReply) {
	fmt.Fprintf(w, "Subject: %s\n\n%s\n\n--- %s ---\n%s", rep.Subject, rep.Body, rep.Filename, rep.CSV)
}

// reportFileName names the CSV attachment: "report-2026-Q3.csv".
func reportFileName(r *ticket.AgreementReport) string { return "report-" + r.Label + ".csv" }

// printReportSent confirms a --send, saying where the mail was queued and
// when it goes out.
func printReportSent(w io.Writer, rep *reportSendReply, place deskPlace) {
	if !rep.Sent {
		fmt.Fprintf(w, "the %s report of %s went out before; not queued again (force sends it again)\n", rep.Period, rep.Agreement)
		return
	}
	fmt.Fprintf(w, "queued the %s report of %s to %s %s\n", rep.Period, rep.Agreement, strings.Join(rep.To, ", "), queuedWhere(place, "it"))
}

// queuedWhere says where mail was queued and when it goes out.
func queuedWhere(place deskPlace, it string) string {
	if place.live {
		return fmt.Sprintf("through %s; the daemon is sending %s", place.via, it)
	}
	return fmt.Sprintf("in %s; the daemon sends %s when it starts", place.via, it)
}
