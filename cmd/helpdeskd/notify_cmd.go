package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// The notify command mails a proactive notice (maintenance window, known
// outage) to the contacts of one agreement or all: one mail and one
// ticket per customer organisation (ticket.NoticeGroups), so that replies
// thread to it. It goes through the
// running daemon (POST /v1/notify), which sends at once; with no daemon
// running it queues the notice in the database file, and the daemon sends
// it when it starts (agreement_client.go).

type notifyFlags struct {
	config, agreement, subject, bodyFile string
	all, dryRun                          bool
	file                                 string // --file: dry run only
	json                                 bool
	conn                                 connFlags // --socket, --addr, --token-file, --verbose
	diag                                 io.Writer // --verbose output; nil: standard error
}

func newNotifyCmd() *cobra.Command {
	var f notifyFlags
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Mail a proactive notice to the contacts of an agreement, or of all",
		Long: `notify sends a notice from the support address to every contact of the
chosen agreements, one mail per customer organisation (the contacts' mail
domain; each address at a public mail provider), each recorded as a
ticket so that replies thread to it. --dry-run lists who would get it.

It goes through the running daemon's admin socket (found as for helpdeskd
status), with the daemon's agreements as last reloaded, and the daemon
sends the mail at once. When no daemon runs, the notice is queued in
store.path, with the configuration's agreements, and goes out when the
daemon starts. --file (a backup) is for --dry-run only: a backup is not
the live desk. --verbose says which one answered. Example:

  helpdeskd notify --all --subject 'Maintenance Saturday 02:00-04:00' --body-file notice.txt --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.diag = cmd.ErrOrStderr()
			return runNotify(cmd.OutOrStdout(), f, time.Now())
		},
	}
	cmd.Flags().StringVarP(&f.config, "config", "c", defaultConfigPath, "configuration file (the admin socket; agreements and store.path when no daemon runs)")
	cmd.Flags().StringVar(&f.agreement, "agreement", "", "the agreement whose contacts get the notice")
	cmd.Flags().BoolVar(&f.all, "all", false, "every agreement with contacts")
	cmd.Flags().StringVar(&f.subject, "subject", "", "the notice's subject (required)")
	cmd.Flags().StringVar(&f.bodyFile, "body-file", "", "file with the notice's text (required)")
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "list who would get the notice; send nothing")
	cmd.Flags().StringVar(&f.file, "file", "", "with --dry-run: read this database file (a backup) instead of asking the daemon")
	cmd.Flags().BoolVar(&f.json, "json", false, "print JSON")
	f.conn.register(cmd)
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
	if err := checkNoticeBody(string(body)); err != nil {
		return cliError(err)
	}
	req := notifyRequest{All: f.all, Subject: f.subject, Body: string(body), DryRun: f.dryRun}
	if f.agreement != "" {
		req.Agreements = []string{f.agreement}
	}
	t := deskTarget{
		admin: adminFlags{config: f.config, socket: f.conn.socket, addr: f.conn.addr, tokenFile: f.conn.tokenFile},
		file:  f.file, verbose: f.conn.verbose, diag: f.diag,
	}
	ctx := context.Background()
	var rep *notifyReply
	place, err := t.run(ctx, !f.dryRun,
		func(c *adminClient) (err error) { rep, err = c.notify(ctx, req); return err },
		func(env *agreementEnv) (err error) { rep, err = env.notify(req, now); return err })
	if err != nil {
		return cliError(err)
	}
	if f.json {
		return printJSON(w, rep)
	}
	printNotice(w, rep, place)
	return nil
}

// printNotice lists the recipients per organisation and, unless it was a
// dry run, the cases opened and where the mail was queued.
func printNotice(w io.Writer, rep *notifyReply, place deskPlace) {
	for _, r := range rep.Recipients {
		fmt.Fprintf(w, "%s (%s): %s\n", r.Organisation, r.Agreement, strings.Join(r.To, ", "))
	}
	if len(rep.Queued) == 0 {
		return
	}
	for _, q := range rep.Queued {
		fmt.Fprintf(w, "queued %s to %s (%s)\n", q.Case, q.Organisation, q.Agreement)
	}
	it := "it"
	if len(rep.Queued) > 1 {
		it = "them"
	}
	fmt.Fprintf(w, "queued %s\n", queuedWhere(place, it))
}
