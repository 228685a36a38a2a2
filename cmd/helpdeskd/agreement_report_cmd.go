package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// Agreement reports through `helpdeskd report --agreement X --period P
// --print`: the periodic report an agreement's contacts get, rendered in
// the agreement's language, with its CSV attachment, previewed on stdout.
// Like `hours` it reads the database file itself (store.path or --file).

type agreementReportFlags struct {
	agreement, period string
	print, send       bool
}

func (f *agreementReportFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.agreement, "agreement", "", "agreement report: the agreement's name, as in the configuration")
	cmd.Flags().StringVar(&f.period, "period", "", "agreement report: the period, 2026-03, 2026-Q3 or 2026 (required with --agreement)")
	cmd.Flags().BoolVar(&f.print, "print", false, "agreement report: print the mail's text and CSV attachment")
	cmd.Flags().BoolVar(&f.send, "send", false, "agreement report: queue the report mail to the agreement's contacts again (daemon stopped; it sends the outbox when started)")
}

func runAgreementReport(w io.Writer, configPath, file string, f agreementReportFlags) error {
	if f.period == "" {
		return usageError("--period is required with --agreement: 2026-03, 2026-Q3 or 2026")
	}
	if f.print == f.send {
		return usageError("--agreement needs one of --print (preview the report) and --send (queue it to the contacts)")
	}
	cfg, err := LoadConfig(configPath)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s:\n%s", configPath, indentErrors(err))}
	}
	ag, err := configuredAgreement(cfg, f.agreement)
	if err != nil {
		return err
	}
	if file == "" {
		file = cfg.Store.Path
	}
	db, err := store.Open(file, store.Options{LockTimeout: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w; the daemon is running: run helpdeskd backup and pass the copy with --file", err)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if f.send {
		return sendAgreementReport(w, cfg, db, f.agreement, f.period)
	}
	var rep *ticket.AgreementReport
	if err := db.View(func(tx ticket.Tx) (err error) {
		rep, err = ticket.BuildAgreementReport(tx, ag, f.period)
		return err
	}); err != nil {
		return err
	}
	lang := ag.Language
	if lang == "" {
		lang = cfg.Languages.Default
	}
	text, csv, err := ticket.RenderReport(rep, lang, cfg.Support.Name)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "Subject: %s\n\n%s\n\n--- %s ---\n%s", text.Subject, text.Body, reportFileName(rep), csv)
	return nil
}

// reportFileName names the CSV attachment: "report-2026-Q3.csv".
func reportFileName(r *ticket.AgreementReport) string { return "report-" + r.Label + ".csv" }

// sendAgreementReport queues the report in the outbox, sent or not before:
// the operator asked for it.
func sendAgreementReport(w io.Writer, cfg *Config, db *store.DB, name, period string) error {
	quiet := slog.New(slog.DiscardHandler)
	o := cfg.daemonOptions(quiet).Desk
	o.Store, o.Logger = db, quiet
	desk, err := ticket.NewDesk(o)
	if err != nil {
		return err
	}
	ag, err := configuredAgreement(cfg, name)
	if err != nil {
		return err
	}
	err = db.Update(func(tx ticket.Tx) error {
		_, err := desk.SendReport(tx, ag, period, time.Now(), true)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "queued the %s report of %s to %s; the daemon sends it\n", period, ag.Name, strings.Join(ag.Contacts, ", "))
	return nil
}
