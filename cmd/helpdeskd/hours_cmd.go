package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The hours command shows an agreement's hour bank for one period: the
// allowance, the #time work logged on its tickets, what is left and the
// overage. It asks the running daemon (GET /v1/hours), which holds the
// database; with no daemon running it reads the configured store.path
// itself, and --file reads a backup (agreement_client.go).

type hoursFlags struct {
	config, agreement, period, file string
	json                            bool
	conn                            connFlags // --socket, --addr, --token-file, --verbose
	diag                            io.Writer // --verbose output; nil: standard error
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
must match the bank's length.

It asks the running daemon through its admin socket (found as for
helpdeskd status; the daemon's agreements count, as last reloaded). When no
daemon runs, it reads store.path itself with the configuration's
agreements; --file reads another database file, such as a backup.
--verbose says which one answered. Examples:

  helpdeskd hours --agreement 'Trinax Alert!' --period 2026-Q4
  helpdeskd hours --agreement 'Trinax Alert!' --period 2026-Q4 --file /var/backups/helpdeskd.db`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.diag = cmd.ErrOrStderr()
			return runHours(cmd.OutOrStdout(), f, time.Now())
		},
	}
	cmd.Flags().StringVarP(&f.config, "config", "c", defaultConfigPath, "configuration file (the admin socket; agreements and store.path when no daemon runs)")
	cmd.Flags().StringVar(&f.agreement, "agreement", "", "agreement name, as in the configuration (required)")
	cmd.Flags().StringVar(&f.period, "period", "", "period: 2026-03, 2026-Q4 or 2026 (default: the current one)")
	cmd.Flags().StringVar(&f.file, "file", "", "read this database file (a backup) instead of asking the daemon")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	f.conn.register(cmd)
	return cmd
}

func runHours(w io.Writer, f hoursFlags, now time.Time) error {
	if f.agreement == "" {
		return usageError("--agreement is required; name an agreement of the configuration")
	}
	ctx := context.Background()
	var u ticket.HourUse
	_, err := f.target().run(ctx, false,
		func(c *adminClient) (err error) { u, err = c.hours(ctx, f.agreement, f.period, now); return err },
		func(env *agreementEnv) (err error) { u, err = env.hours(f.agreement, f.period, now); return err })
	if err != nil {
		return cliError(err)
	}
	if f.json {
		return printJSON(w, u)
	}
	printHours(w, u)
	return nil
}

func (f hoursFlags) target() deskTarget {
	return deskTarget{
		admin: adminFlags{config: f.config, socket: f.conn.socket, addr: f.conn.addr, tokenFile: f.conn.tokenFile},
		file:  f.file, verbose: f.conn.verbose, diag: f.diag,
	}
}

// configuredAgreement finds an agreement of cfg by name (findAgreement);
// an unknown name is a usage error.
func configuredAgreement(cfg *Config, name string) (*sla.Agreement, error) {
	ag, err := findAgreement(cfg.slaAgreements(), name)
	return ag, cliError(err)
}

func printHours(w io.Writer, u ticket.HourUse) {
	last := u.End.Add(-time.Nanosecond)
	fmt.Fprintf(w, "Agreement:  %s\n", u.Agreement)
	fmt.Fprintf(w, "Period:     %s (%s – %s, %s)\n", u.Label, u.Start.Format(time.DateOnly), last.Format(time.DateOnly), u.Start.Location())
	if u.CarriedIn > 0 {
		// Carried-in hours are part of the allowance, used first, and
		// expire at the period's end.
		fmt.Fprintf(w, "Allowance:  %s = %s per %s + %s carried over from %s (used first, expire at the end of %s)\n", fmtWork(u.Allowance),
			fmtWork(u.Allowance-u.CarriedIn), u.Per, fmtWork(u.CarriedIn), u.CarriedFrom, u.Label)
	} else {
		fmt.Fprintf(w, "Allowance:  %s per %s\n", fmtWork(u.Allowance), u.Per)
	}
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
