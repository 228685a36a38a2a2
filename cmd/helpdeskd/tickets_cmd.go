package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The ticket queries run on any ticket.Store: the daemon answers them on
// the admin API from its open database, and `tickets --file` runs the
// same code on a backup or a stopped daemon's file, so both print alike.

// ticketFilter selects tickets for a listing; zero fields select all.
type ticketFilter struct {
	State ticket.State
	// Customer is an address ("alice@example.com") or a domain
	// ("example.com", "@example.com"), case-insensitive.
	Customer string
	// Breached keeps only tickets with a broken SLA promise.
	Breached bool
}

func (f ticketFilter) check() error {
	if f.State != "" && !f.State.Valid() {
		return fmt.Errorf("%w: state %q is not one of new, open, pending, resolved, closed", errBadRequest, f.State)
	}
	return nil
}

func (f ticketFilter) match(t *ticket.Ticket, now time.Time) bool {
	if f.State != "" && t.State != f.State {
		return false
	}
	if c := strings.ToLower(strings.TrimSpace(f.Customer)); c != "" {
		cust := strings.ToLower(t.Customer)
		if strings.Contains(c, "@") && !strings.HasPrefix(c, "@") {
			if cust != c {
				return false
			}
		} else if !strings.HasSuffix(cust, "@"+strings.TrimPrefix(c, "@")) {
			return false
		}
	}
	if f.Breached && !breached(t) {
		return false
	}
	return true
}

// breached reports whether any SLA promise of t was broken (even if it
// was met late since).
func breached(t *ticket.Ticket) bool {
	if t.SLA == nil {
		return false
	}
	for _, c := range t.SLA.Clocks {
		if !c.Breached.IsZero() {
			return true
		}
	}
	return false
}

// nextDue is the earliest due time of t's running, unbroken promises.
func nextDue(t *ticket.Ticket) time.Time {
	var due time.Time
	if t.SLA == nil {
		return due
	}
	for _, c := range t.SLA.Clocks {
		if c.Running() && c.Breached.IsZero() && !c.Due.IsZero() && (due.IsZero() || c.Due.Before(due)) {
			due = c.Due
		}
	}
	return due
}

// ticketRow is one line of a listing.
type ticketRow struct {
	Case      string       `json:"case"`
	State     ticket.State `json:"state"`
	Priority  int          `json:"priority"`
	Customer  string       `json:"customer"`
	Subject   string       `json:"subject"`
	Messages  int          `json:"messages"`
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
	Assignee  string       `json:"assignee,omitempty"`
	Agreement string       `json:"agreement,omitempty"`
	Breached  bool         `json:"breached,omitempty"`
	NextDue   time.Time    `json:"next_due,omitzero"`
	LinkedTo  string       `json:"linked_to,omitempty"`
}

// listTickets returns the tickets f selects, in case-number order.
func listTickets(st ticket.Store, f ticketFilter, now time.Time) ([]ticketRow, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	rows := []ticketRow{}
	err := st.View(func(tx ticket.Tx) error {
		return tx.ForEachTicket(func(t *ticket.Ticket) error {
			if !f.match(t, now) {
				return nil
			}
			rows = append(rows, ticketRow{
				Case: t.Case, State: t.State, Priority: t.Priority, Customer: t.Customer,
				Subject: t.Subject, Messages: t.MessageCount, Created: t.Created, Updated: t.Updated,
				Assignee: t.Assignee, Agreement: t.Agreement, Breached: breached(t),
				NextDue: nextDue(t), LinkedTo: t.LinkedTo,
			})
			return nil
		})
	})
	return rows, err
}

// ticketDetail is one ticket with its whole history.
type ticketDetail struct {
	Ticket    *ticket.Ticket  `json:"ticket"`
	Messages  []*ticket.Entry `json:"messages"`
	Deadlines []deadlineRow   `json:"deadlines"`
	Next      *nextEvent      `json:"next_event,omitempty"`
}

// deadlineRow is one SLA promise of a ticket and where it stands.
type deadlineRow struct {
	Promise  string    `json:"promise"` // first-response, update, resolution
	Target   string    `json:"target"`  // "4h", "3bd"
	State    string    `json:"state"`   // running, stopped (pending on the customer), met, breached
	Due      time.Time `json:"due,omitzero"`
	WarnAt   time.Time `json:"warn_at,omitzero"`
	Met      time.Time `json:"met,omitzero"`
	Breached time.Time `json:"breached,omitzero"`
}

// nextEvent is a ticket's entry in the scheduler's deadline index: the
// SLA event that fires next.
type nextEvent struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"` // warn, breach, escalate, mail, retry
}

// ticketDeadlines lists the promises of t.
func ticketDeadlines(t *ticket.Ticket) []deadlineRow {
	if t.SLA == nil {
		return nil
	}
	var rows []deadlineRow
	for _, c := range t.SLA.Clocks {
		r := deadlineRow{Promise: string(c.Promise), Target: c.Target, Due: c.Due, WarnAt: c.WarnAt, Met: c.Met, Breached: c.Breached}
		switch {
		case !c.Met.IsZero():
			r.State = "met"
		case !c.Breached.IsZero():
			r.State = "breached"
		case c.Running():
			r.State = "running"
		default:
			r.State, r.Due, r.WarnAt = "stopped", time.Time{}, time.Time{}
		}
		rows = append(rows, r)
	}
	return rows
}

// ticketNextEvent finds ticket id's entry in the deadline index. The
// index is ordered by time, not ticket, so this reads it all: fine for
// `show`, which asks for one ticket.
func ticketNextEvent(tx ticket.Tx, id uint64) (*nextEvent, error) {
	all, err := tx.DueDeadlines(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 0)
	if err != nil {
		return nil, fmt.Errorf("deadline index: %w", err)
	}
	for _, dl := range all {
		if dl.TicketID == id {
			return &nextEvent{At: dl.At, Kind: string(dl.Kind)}, nil
		}
	}
	return nil, nil
}

// parseCaseRef reads "HD-000042", "[#HD-000042]", "#HD-000042" or "42"
// as a ticket ID (the case number is the ID).
func parseCaseRef(ref string) (uint64, error) {
	s := strings.TrimSpace(ref)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	s = strings.TrimPrefix(s, "#")
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		s = s[i+1:]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: %q is not a case such as HD-000042 or 42", errBadRequest, ref)
	}
	return n, nil
}

// showTicket returns the ticket ref names with its messages and deadlines.
func showTicket(st ticket.Store, ref string) (*ticketDetail, error) {
	id, err := parseCaseRef(ref)
	if err != nil {
		return nil, err
	}
	var det ticketDetail
	err = st.View(func(tx ticket.Tx) error {
		t, err := tx.Ticket(id)
		if err != nil {
			return err
		}
		det.Ticket = t
		if det.Messages, err = tx.Entries(id); err != nil {
			return err
		}
		det.Deadlines = ticketDeadlines(t)
		det.Next, err = ticketNextEvent(tx, id)
		return err
	})
	if errors.Is(err, ticket.ErrNotFound) {
		return nil, fmt.Errorf("case %s: %w", ref, ticket.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	if det.Messages == nil {
		det.Messages = []*ticket.Entry{}
	}
	if det.Deadlines == nil {
		det.Deadlines = []deadlineRow{}
	}
	return &det, nil
}

// openOffline opens a database file that must exist (store.Open would
// create a missing one) for the --file queries. The daemon holding it
// gives a clear error rather than a wait.
func openOffline(path string) (*store.DB, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: no such database file", path)
		}
		return nil, err
	}
	if fi.Size() == 0 {
		return nil, fmt.Errorf("%s: empty file, not a helpdeskd database", path)
	}
	db, err := store.Open(path, store.Options{LockTimeout: 500 * time.Millisecond, Logger: discardLog})
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w; a running daemon holds it: leave out --file to ask the daemon", err)
	}
	return db, err
}

func newTicketsCmd() *cobra.Command {
	var ac adminFlags
	cmd := &cobra.Command{
		Use:   "tickets",
		Short: "List and show tickets (from the running daemon, or a database file with --file)",
	}
	var f ticketFilter
	var asJSON bool
	var file string
	list := &cobra.Command{
		Use:   "list",
		Short: "List tickets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.check(); err != nil {
				return err
			}
			var rows []ticketRow
			if file != "" {
				db, err := openOffline(file)
				if err != nil {
					return err
				}
				defer db.Close()
				if rows, err = listTickets(db, f, time.Now()); err != nil {
					return err
				}
			} else {
				c, err := ac.client()
				if err != nil {
					return err
				}
				q := url.Values{}
				if f.State != "" {
					q.Set("state", string(f.State))
				}
				if f.Customer != "" {
					q.Set("customer", f.Customer)
				}
				if f.Breached {
					q.Set("breached", "true")
				}
				if err := c.get(cmd.Context(), "/v1/tickets?"+q.Encode(), &rows); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), rows)
			}
			printTicketRows(cmd.OutOrStdout(), rows)
			return nil
		},
	}
	list.Flags().StringVar((*string)(&f.State), "state", "", "only tickets in this state: new, open, pending, resolved, closed")
	list.Flags().StringVar(&f.Customer, "customer", "", "only this customer: an address, or a domain such as example.com")
	list.Flags().BoolVar(&f.Breached, "breached", false, "only tickets with a broken SLA promise")

	show := &cobra.Command{
		Use:   "show CASE",
		Short: "Show a ticket: its messages, events and deadlines",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var det *ticketDetail
			if file != "" {
				db, err := openOffline(file)
				if err != nil {
					return err
				}
				defer db.Close()
				if det, err = showTicket(db, args[0]); err != nil {
					return err
				}
			} else {
				if _, err := parseCaseRef(args[0]); err != nil {
					return err
				}
				c, err := ac.client()
				if err != nil {
					return err
				}
				det = &ticketDetail{}
				if err := c.get(cmd.Context(), "/v1/tickets/"+url.PathEscape(args[0]), det); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), det)
			}
			printTicketDetail(cmd.OutOrStdout(), det)
			return nil
		},
	}
	for _, c := range []*cobra.Command{list, show} {
		c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
		c.Flags().StringVar(&file, "file", "", "read this database file (a backup, or the store of a stopped daemon) instead of asking the daemon")
		ac.register(c)
		cmd.AddCommand(c)
	}
	return cmd
}

const timeLayout = "2006-01-02 15:04"

func printTicketRows(w io.Writer, rows []ticketRow) {
	if len(rows) == 0 {
		fmt.Fprintln(w, "no tickets")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tSTATE\tPRI\tCUSTOMER\tMSGS\tUPDATED\tSUBJECT")
	for _, r := range rows {
		state := string(r.State)
		if r.Breached {
			state += " (breached)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%s\t%s\n", r.Case, state, r.Priority, r.Customer,
			r.Messages, r.Updated.Local().Format(timeLayout), oneLine(r.Subject, 60))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d tickets\n", len(rows))
}

func printTicketDetail(w io.Writer, d *ticketDetail) {
	t := d.Ticket
	fmt.Fprintf(w, "Case:         %s\n", t.Case)
	fmt.Fprintf(w, "Subject:      %s\n", t.Subject)
	fmt.Fprintf(w, "Customer:     %s\n", t.Customer)
	fmt.Fprintf(w, "State:        %s    Priority: %d    Language: %s\n", t.State, t.Priority, t.Language)
	fmt.Fprintf(w, "Created:      %s    Updated: %s\n", t.Created.Local().Format(timeLayout), t.Updated.Local().Format(timeLayout))
	if len(t.Participants) > 0 {
		fmt.Fprintf(w, "Participants: %s\n", strings.Join(t.Participants, ", "))
	}
	if t.Assignee != "" {
		fmt.Fprintf(w, "Assignee:     %s\n", t.Assignee)
	}
	if t.Agreement != "" {
		fmt.Fprintf(w, "Agreement:    %s\n", t.Agreement)
	}
	if t.LinkedTo != "" {
		fmt.Fprintf(w, "Linked to:    %s\n", t.LinkedTo)
	}
	if len(t.Flags) > 0 {
		fmt.Fprintf(w, "Flags:        %s\n", strings.Join(t.Flags, ", "))
	}
	fmt.Fprintf(w, "\nDeadlines:\n")
	if len(d.Deadlines) == 0 {
		fmt.Fprintln(w, "  none (no SLA plan covers this ticket)")
	}
	for _, dl := range d.Deadlines {
		line := fmt.Sprintf("  %-15s %-6s %-9s", dl.Promise, dl.Target, dl.State)
		switch dl.State {
		case "running":
			line += " due " + dl.Due.Local().Format(timeLayout)
			if !dl.WarnAt.IsZero() {
				line += ", warning at " + dl.WarnAt.Local().Format(timeLayout)
			}
		case "met":
			line += " at " + dl.Met.Local().Format(timeLayout)
			if !dl.Breached.IsZero() {
				line += " (late: breached " + dl.Breached.Local().Format(timeLayout) + ")"
			}
		case "breached":
			line += " since " + dl.Breached.Local().Format(timeLayout)
		}
		fmt.Fprintln(w, line)
	}
	if d.Next != nil {
		fmt.Fprintf(w, "  next SLA event: %s at %s\n", d.Next.Kind, d.Next.At.Local().Format(timeLayout))
	}
	fmt.Fprintf(w, "\nEvents:\n")
	for _, e := range t.Events {
		fmt.Fprintf(w, "  %s  %-16s %s\n", e.At.Local().Format(timeLayout), e.What, e.Detail)
	}
	fmt.Fprintf(w, "\nMessages (%d):\n", len(d.Messages))
	for _, m := range d.Messages {
		dir := "in "
		if m.Direction == ticket.Outbound {
			dir = "out"
		}
		extra := ""
		if m.Note {
			extra = " [internal note]"
		}
		if m.Kind != "" && m.Kind != "normal" {
			extra += " [" + m.Kind + "]"
		}
		if m.Purpose != "" {
			extra += " [" + m.Purpose + "]"
		}
		fmt.Fprintf(w, "\n  #%d %s %s  from %s to %s%s\n", m.Seq, dir, m.Date.Local().Format(timeLayout), m.From, strings.Join(m.To, ", "), extra)
		fmt.Fprintf(w, "     Subject: %s\n", m.Subject)
		if m.ParseError != "" {
			fmt.Fprintf(w, "     Parse error: %s\n", m.ParseError)
		}
		for i, line := range strings.Split(strings.TrimRight(m.Text, "\n"), "\n") {
			if i == 12 {
				fmt.Fprintln(w, "     … (--json for the whole text)")
				break
			}
			fmt.Fprintf(w, "     | %s\n", line)
		}
	}
}

// oneLine cuts s to n runes on one line.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// ctxOrBackground keeps commands run without a context (tests) working.
func ctxOrBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
