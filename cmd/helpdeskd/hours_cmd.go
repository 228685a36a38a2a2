package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The hours command shows an agreement's hour bank for one period: the
// allowance, the #time work logged on its tickets, what is left and the
// overage. It reads the database file itself (the configured store.path,
// or --file, e.g. a backup): the daemon's lock makes a running daemon's
// file unreadable, so with the daemon running, point --file at a backup
// (helpdeskd backup).

type hoursFlags struct {
	config, agreement, period, file string
	json                            bool
}

func newHoursCmd() *cobra.Command {
	var f hoursFlags
	cmd := &cobra.Command{
		Use:   "hours",
		Short: "Show an agreement's hour bank: allowance, used, remaining, overage and the entries",
		Long: `hours prints the hour bank of one agreement for one period (default:
the current one, in the agreement's time zone): allowance, the #time work
engineers logged on its tickets, what is left, the overage beyond the
bank, and every entry. Periods are written 2026-03, 2026-Q4 or 2026 and
must match the bank's length. Example:

  helpdeskd hours --agreement 'Trinax Alert!' --period 2026-Q4 --file /var/backups/helpdeskd.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runHours(cmd.OutOrStdout(), f, time.Now())
		},
	}
	cmd.Flags().StringVarP(&f.config, "config", "c", defaultConfigPath, "configuration file (agreements, store.path)")
	cmd.Flags().StringVar(&f.agreement, "agreement", "", "agreement name, as in the configuration (required)")
	cmd.Flags().StringVar(&f.period, "period", "", "period: 2026-03, 2026-Q4 or 2026 (default: the current one)")
	cmd.Flags().StringVar(&f.file, "file", "", "database file to read (default: store.path; use a backup while the daemon runs)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	return cmd
}

func runHours(w io.Writer, f hoursFlags, now time.Time) error {
	if f.agreement == "" {
		return usageError("--agreement is required; name an agreement of the configuration")
	}
	cfg, err := LoadConfig(f.config)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s:\n%s", f.config, indentErrors(err))}
	}
	if err := cfg.Validate(); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("%s:\n%s", f.config, indentErrors(err))}
	}
	ag, err := configuredAgreement(cfg, f.agreement)
	if err != nil {
		return err
	}
	path := f.file
	if path == "" {
		path = cfg.Store.Path
	}
	db, err := store.Open(path, store.Options{LockTimeout: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w; the daemon is running: run helpdeskd backup and pass the copy with --file", err)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	var u ticket.HourUse
	err = db.View(func(tx ticket.Tx) error {
		var err error
		if f.period == "" {
			u, err = ticket.HourBankAt(tx, ag, now)
		} else {
			u, err = ticket.HourBankPeriod(tx, ag, f.period)
		}
		return err
	})
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(w, u)
	}
	printHours(w, u)
	return nil
}

// configuredAgreement finds an agreement of cfg by name.
func configuredAgreement(cfg *Config, name string) (*sla.Agreement, error) {
	var names []string
	if idx := cfg.slaAgreements(); idx != nil {
		for _, ag := range append(slices.Clone(idx.All()), idx.Default()) {
			if ag == nil {
				continue
			}
			if ag.Name == name {
				return ag, nil
			}
			names = append(names, fmt.Sprintf("%q", ag.Name))
		}
	}
	if len(names) == 0 {
		return nil, usageError("no agreement %q: the configuration has no agreements", name)
	}
	return nil, usageError("no agreement %q; the configuration has %v", name, names)
}

func printHours(w io.Writer, u ticket.HourUse) {
	last := u.End.Add(-time.Nanosecond)
	fmt.Fprintf(w, "Agreement:  %s\n", u.Agreement)
	fmt.Fprintf(w, "Period:     %s (%s – %s, %s)\n", u.Label, u.Start.Format(time.DateOnly), last.Format(time.DateOnly), u.Start.Location())
	fmt.Fprintf(w, "Allowance:  %s per %s\n", fmtWork(u.Allowance), u.Per)
	fmt.Fprintf(w, "Used:       %s (%d%%; warn at %d%%)\n", fmtWork(u.Used), u.Percent(), u.WarnPercent)
	fmt.Fprintf(w, "Remaining:  %s\n", fmtWork(u.Remaining))
	fmt.Fprintf(w, "Overage:    %s\n", fmtWork(u.Overage))
	if len(u.Entries) == 0 {
		fmt.Fprintln(w, "\nNo work logged in this period.")
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tCASE\tENGINEER\tTIME\tSUBJECT")
	for _, e := range u.Entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.In(u.Start.Location()).Format("2006-01-02 15:04"), e.Case, e.Engineer,
			fmtWork(time.Duration(e.Minutes)*time.Minute), oneLine(e.Subject, 50))
	}
	tw.Flush()
}

// fmtWork writes a duration of work as engineers do: 45m, 2h, 1h30m.
func fmtWork(d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%dm", m)
	case m == 0:
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%02dm", h, m)
}
