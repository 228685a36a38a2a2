// Command helpdeskd is an email-driven helpdesk ticketing daemon: customer
// mail to the support address becomes case-numbered tickets, acknowledged at
// once, answered by engineers from their own mail clients, under SLA clocks.
//
// Subcommands: run, demo, inspect, check-config, version; and, talking to
// the running daemon's admin socket: status, tickets, report, hours, notify, backup, outbox, reload.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time by the Makefile.
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		// cobra has printed usage errors; ours carry their own text.
		fmt.Fprintln(os.Stderr, "helpdeskd:", err)
		os.Exit(exitCode(err))
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if e, ok := err.(*exitError); ok {
		return e.code
	}
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "helpdeskd",
		Short:         "Email-driven helpdesk ticketing daemon",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newRunCmd(),
		newDemoCmd(),
		newInspectCmd(),
		newCheckConfigCmd(),
		newStatusCmd(),
		newTicketsCmd(),
		newBackupCmd(),
		newOutboxCmd(),
		newReloadCmd(),
		newReportCmd(),
		newSLACmd(),    // sla_cmd.go
		newHoursCmd(),  // hours_cmd.go
		newNotifyCmd(), // notify_cmd.go
		newStoreCmd(),
		&cobra.Command{
			Use:   "version",
			Short: "Print the version",
			Run: func(cmd *cobra.Command, _ []string) {
				fmt.Fprintln(cmd.OutOrStdout(), "helpdeskd", version)
			},
		},
	)
	return root
}
