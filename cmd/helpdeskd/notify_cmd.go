package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The notify command mails a proactive notice (maintenance window, known
// outage) to the contacts of one agreement or all: one mail and one
// ticket per agreement, so that replies thread to it. It opens the
// database itself: stop the daemon first; the daemon sends the queued
// mail when it starts.

type notifyFlags struct {
	config, agreement, subject, bodyFile string
	all, dryRun                          bool
}

func newNotifyCmd() *cobra.Command {
	var f notifyFlags
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Mail a proactive notice to the contacts of an agreement, or of all",
		Long: `notify sends a notice from the support address to every contact of the
chosen agreements, one mail per agreement, each recorded as a ticket so
that replies thread to it. --dry-run lists who would get it. Example:

  helpdeskd notify --all --subject 'Maintenance Saturday 02:00-04:00' --body-file notice.txt --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runNotify(cmd.OutOrStdout(), f, time.Now()) },
	}
	cmd.Flags().StringVarP(&f.config, "config", "c", defaultConfigPath, "configuration file (agreements, store.path)")
	cmd.Flags().StringVar(&f.agreement, "agreement", "", "the agreement whose contacts get the notice")
	cmd.Flags().BoolVar(&f.all, "all", false, "every agreement with contacts")
	cmd.Flags().StringVar(&f.subject, "subject", "", "the notice's subject (required)")
	cmd.Flags().StringVar(&f.bodyFile, "body-file", "", "file with the notice's text (required)")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "list who would get the notice; send nothing")
	return cmd
}

func runNotify(w io.Writer, f notifyFlags, now time.Time) error {
	if (f.agreement == "") == !f.all {
		return usageError("name one --agreement, or --all")
	}
	if strings.TrimSpace(f.subject) == "" || f.bodyFile == "" {
		return usageError("--subject and --body-file are required")
	}
	body, err := os.ReadFile(f.bodyFile)
	if err != nil {
		return err
	}
	cfg, err := LoadConfig(f.config)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s:\n%s", f.config, indentErrors(err))}
	}
	var ags []*sla.Agreement
	if f.all {
		if idx := cfg.slaAgreements(); idx != nil {
			ags = slices.Clone(idx.All())
		}
	} else {
		ag, err := configuredAgreement(cfg, f.agreement)
		if err != nil {
			return err
		}
		ags = []*sla.Agreement{ag}
	}
	var to []*sla.Agreement
	for _, ag := range ags {
		if rcpt := ticket.NoticeRecipients(ag); len(rcpt) > 0 {
			to = append(to, ag)
			fmt.Fprintf(w, "%s: %s\n", ag.Name, strings.Join(rcpt, ", "))
		} else if !f.all {
			return fmt.Errorf("agreement %q has no contacts; add contacts to it in the configuration", ag.Name)
		}
	}
	if len(to) == 0 {
		return errors.New("no agreement has contacts; add contacts to the agreements in the configuration")
	}
	if f.dryRun {
		return nil
	}
	quiet := slog.New(slog.DiscardHandler)
	db, err := store.Open(cfg.Store.Path, store.Options{LockTimeout: 500 * time.Millisecond, Logger: quiet})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w; stop the daemon first (it sends the notice when it starts again)", err)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	o := cfg.daemonOptions(quiet).Desk
	o.Store, o.Logger = db, quiet
	desk, err := ticket.NewDesk(o)
	if err != nil {
		return err
	}
	var opened []*ticket.Ticket
	if err := db.Update(func(tx ticket.Tx) (err error) {
		opened, err = desk.SendNotice(tx, to, ticket.Notice{Subject: f.subject, Body: string(body)}, now)
		return err
	}); err != nil {
		return err
	}
	for _, t := range opened {
		fmt.Fprintf(w, "queued %s to %s\n", t.Case, t.Agreement)
	}
	return nil
}
