package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newOutboxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "outbox",
		Short: "Inspect the running daemon's outgoing mail and retry it",
	}
	var listFlags, retryFlags adminFlags
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List mail waiting to be sent (pending) and mail given up on (failed)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := listFlags.client()
			if err != nil {
				return err
			}
			var rows []outboxRow
			if err := c.get(cmd.Context(), "/v1/outbox", &rows); err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			printOutboxRows(cmd.OutOrStdout(), rows, time.Now())
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	listFlags.register(list)

	retry := &cobra.Command{
		Use:   "retry ID",
		Short: "Send a pending or failed mail now (a failed one starts over with a fresh attempt count)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil || id == 0 {
				return fmt.Errorf("%q is not an outbox ID; see `helpdeskd outbox list`", args[0])
			}
			c, err := retryFlags.client()
			if err != nil {
				return err
			}
			var row outboxRow
			if err := c.call(cmd.Context(), http.MethodPost, "/v1/outbox/"+args[0]+"/retry", &row); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "outbox mail %d (%s %s) is due now; the sender was woken\n", id, row.Purpose, row.Case)
			return nil
		},
	}
	retryFlags.register(retry)
	cmd.AddCommand(list, retry)
	return cmd
}

func printOutboxRows(w io.Writer, rows []outboxRow, now time.Time) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "outbox is empty")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tPURPOSE\tCASE\tTO\tAGE\tATTEMPTS\tNEXT\tLAST ERROR")
	for _, r := range rows {
		next := "-"
		if r.State == "pending" {
			if d := r.NextAttempt.Sub(now); d > 0 {
				next = "in " + d.Round(time.Second).String()
			} else {
				next = "now"
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.State, r.Purpose, r.Case,
			strings.Join(r.To, ","), now.Sub(r.Created).Round(time.Second), r.Attempts, next, oneLine(r.LastError, 120))
	}
	tw.Flush()
}
