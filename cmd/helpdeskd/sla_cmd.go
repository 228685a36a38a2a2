package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

func newSLACmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sla",
		Short: "Explain SLA deadlines; record a response",
	}
	cmd.AddCommand(newSLAExplainCmd(), newSLARespondCmd())
	return cmd
}

type explainFlags struct {
	config, calendar, plan, promise, from, add string
	priority                                   int
}

func newSLAExplainCmd() *cobra.Command {
	var f explainFlags
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "Show how a deadline is computed, day by day",
		Long: `explain computes a deadline and lists, day by day, the business time
counted and the days skipped and why (weekends, holidays, closures,
daylight saving changes). It ends with a line "deadline: <RFC 3339 time>"
in the calendar's time zone.

Either a calendar and what to add:
  helpdeskd sla explain --calendar oslo --from 2026-12-23T15:30 --add 4h
or a plan's promise for a priority:
  helpdeskd sla explain -c /etc/helpdeskd.yaml --plan jotron --priority 2 --from 2026-12-23T15:30

--add takes business time ("4h", "1h30m"), business days ("3bd") or "nbd".
--from takes RFC 3339 with or without seconds and offset; without an
offset it is read in the calendar's zone (default: now). The built-in
calendars (oslo, 9-5, 7-7, 24x7) need no configuration; with -c, the
calendars and plans of the configuration file can be named too.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return explain(cmd.OutOrStdout(), f, time.Now())
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "configuration file with calendars and plans (optional)")
	fl.StringVar(&f.calendar, "calendar", "", "calendar name: oslo, 9-5, 7-7, 24x7 or one from the configuration")
	fl.StringVar(&f.plan, "plan", "", "plan name from the configuration")
	fl.IntVar(&f.priority, "priority", 3, "priority 1–4, with --plan")
	fl.StringVar(&f.promise, "promise", string(sla.PromiseFirstResponse), "first-response, update or resolution, with --plan")
	fl.StringVar(&f.from, "from", "", "start: RFC 3339, offset optional (default: now)")
	fl.StringVar(&f.add, "add", "", `business time to add ("4h"), business days ("3bd") or "nbd", with --calendar`)
	return cmd
}

// usageError is a command line mistake: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func explain(w io.Writer, f explainFlags, now time.Time) error {
	objs := &slaObjects{calendars: map[string]*sla.Calendar{}, plans: map[string]*sla.Plan{}}
	if f.config != "" {
		var err error
		if objs, err = loadSLAObjects(f.config); err != nil {
			return err
		}
	}
	var (
		cal    *sla.Calendar
		target sla.Target
		plan   *sla.Plan
	)
	switch {
	case f.plan != "" && f.calendar != "":
		return usageError("give --calendar or --plan, not both")
	case f.plan != "":
		if f.add != "" {
			return usageError("--add goes with --calendar; a plan's promise is its target")
		}
		plan = objs.plans[f.plan]
		if plan == nil {
			if f.config == "" {
				return usageError("plan %q: plans come from a configuration file; give it with -c", f.plan)
			}
			return usageError("plan %q is not in %s", f.plan, f.config)
		}
		if f.priority < sla.HighestPriority || f.priority > sla.LowestPriority {
			return usageError("--priority %d: priorities are 1 to 4", f.priority)
		}
		pr := sla.Promise(f.promise)
		if !slices.Contains(sla.Promises, pr) {
			return usageError("--promise %q: use first-response, update or resolution", f.promise)
		}
		cal, target = plan.CalendarFor(f.priority), plan.Target(f.priority, pr)
		if target.IsZero() {
			return fmt.Errorf("plan %s promises no %s for priority %d", plan.Name, pr, f.priority)
		}
	case f.calendar != "":
		if f.add == "" {
			return usageError("--calendar needs --add, e.g. --add 4h")
		}
		var err error
		if cal, err = objs.calendar(f.calendar); err != nil {
			return usageError("%v", err)
		}
		if target, err = sla.ParseTarget(f.add); err != nil || target.IsZero() {
			return usageError("--add %q: give business time (\"4h\"), business days (\"3bd\") or \"nbd\"", f.add)
		}
	default:
		return usageError("give --calendar NAME --add 4h, or --plan NAME --priority N")
	}
	from := now.In(cal.Location)
	if f.from != "" {
		var err error
		if from, err = parseFrom(f.from, cal.Location); err != nil {
			return usageError("--from: %v", err)
		}
	}

	fmt.Fprintf(w, "calendar: %s\n", describeCalendar(cal))
	if plan != nil {
		fmt.Fprintf(w, "plan:     %s, priority %d, %s within %s\n", plan.Name, f.priority, f.promise, target)
	} else {
		fmt.Fprintf(w, "add:      %s\n", target)
	}
	fmt.Fprintf(w, "from:     %s (%s)\n", from.Format(time.RFC3339), from.Weekday())
	due, steps := cal.ExplainDue(from, target)
	fmt.Fprintln(w)
	for _, st := range steps {
		fmt.Fprintln(w, "  "+st.String())
	}
	fmt.Fprintln(w)
	if plan != nil {
		if warn, ok := plan.Warn(f.priority, sla.Promise(f.promise), from); ok {
			fmt.Fprintf(w, "warn:     %s (%.0f %% of the business time)\n", warn.In(cal.Location).Format(time.RFC3339), plan.WarnShare()*100)
		}
	}
	fmt.Fprintf(w, "deadline: %s\n", due.In(cal.Location).Format(time.RFC3339))
	return nil
}

// parseFrom reads RFC 3339 with or without seconds and offset ("T" or a
// space between date and time); without an offset the time is in loc. A
// time with an offset is shown in loc, or as given when loc is nil.
func parseFrom(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	norm := strings.Replace(s, " ", "T", 1)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, norm); err == nil {
			if loc != nil {
				t = t.In(loc)
			}
			return t, nil
		}
	}
	if loc == nil {
		loc = time.Local
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, norm, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339; write e.g. 2026-12-23T15:30 (in the calendar's zone) or 2026-12-23T15:30:00+01:00", s)
}

// describeCalendar is one line: name, zone, hours and holidays.
func describeCalendar(c *sla.Calendar) string {
	var parts []string
	for d := time.Monday; d <= time.Saturday+1; d++ {
		wd := d % 7
		var ivs []string
		for _, iv := range c.Week[wd] {
			ivs = append(ivs, iv.String())
		}
		h := strings.Join(ivs, ",")
		if h == "" {
			continue
		}
		day := wd.String()[:3]
		if n := len(parts); n > 0 && strings.HasSuffix(parts[n-1], " "+h) && prevDay(parts[n-1]) == (wd+6)%7 {
			first := strings.SplitN(parts[n-1], " ", 2)[0]
			first = strings.SplitN(first, "–", 2)[0]
			parts[n-1] = first + "–" + day + " " + h
			continue
		}
		parts = append(parts, day+" "+h)
	}
	s := fmt.Sprintf("%s (%s): %s", c.Name, c.Location, strings.Join(parts, "; "))
	if len(parts) == 0 {
		s = fmt.Sprintf("%s (%s): never open", c.Name, c.Location)
	}
	if len(c.Holidays) > 0 {
		sets := make([]string, len(c.Holidays))
		for i, h := range c.Holidays {
			sets[i] = h
			if country := sla.HolidaySetCountry(h); country != "" {
				sets[i] = country + " (" + h + ")"
			}
		}
		s += "; holidays: " + strings.Join(sets, ", ")
	}
	if len(c.Closures) > 0 {
		s += fmt.Sprintf("; %d closure(s)", len(c.Closures))
	}
	return s
}

// prevDay is the last weekday of a "Mon–Fri 08:00–16:00" part.
func prevDay(part string) time.Weekday {
	days := strings.SplitN(part, " ", 2)[0]
	if i := strings.LastIndex(days, "–"); i >= 0 {
		days = days[i+len("–"):]
	}
	for d := time.Sunday; d <= time.Saturday; d++ {
		if d.String()[:3] == days {
			return d
		}
	}
	return -1
}

// loadSLAObjects reads a configuration file's calendars and plans. Other
// sections need not be complete: explain is used while writing one.
func loadSLAObjects(path string) (*slaObjects, error) {
	c, err := LoadConfig(path)
	if err != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("%s:\n%s", path, indentErrors(err))}
	}
	var p problems
	c.Calendars.check(c, &p)
	c.Plans.check(c, &p)
	if len(p) > 0 {
		return nil, &exitError{code: 1, err: fmt.Errorf("%s: invalid SLA configuration:\n%s", path, indentErrors(errors.Join(p...)))}
	}
	return c.SLA.built, nil
}

func newSLARespondCmd() *cobra.Command {
	var path, at string
	cmd := &cobra.Command{
		Use:   "respond CASE",
		Short: "Record that an engineer responded to a case (daemon stopped)",
		Long: `respond records in the database that an engineer answered case CASE
("HD-000042", "[#HD-000042]" or 42): the first-response promise is met
and the update promise starts again. An engineer's reply by mail does
this by itself; respond is for answers given another way (a phone
call). It opens the database file, so the daemon must be stopped.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadValid(path)
			if err != nil {
				return err
			}
			when := time.Now()
			if at != "" {
				if when, err = parseFrom(at, nil); err != nil {
					return usageError("--at: %v", err)
				}
			}
			return respond(cmd.OutOrStdout(), cfg, args[0], when)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", defaultConfigPath, "configuration file")
	cmd.Flags().StringVar(&at, "at", "", "when the response was given, RFC 3339 (default: now)")
	return cmd
}

// respond marks case caseArg responded at at in cfg's store.
func respond(w io.Writer, cfg *Config, caseArg string, at time.Time) error {
	quiet := slog.New(slog.DiscardHandler)
	db, err := store.Open(cfg.Store.Path, store.Options{LockTimeout: cfg.Store.LockTimeout, Logger: quiet})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("%w; stop the daemon first, or answer the case by mail", err)
		}
		return err
	}
	defer db.Close()
	o := cfg.daemonOptions(quiet).Desk
	o.Store, o.Logger, o.Now = db, quiet, func() time.Time { return at }
	desk, err := ticket.NewDesk(o)
	if err != nil {
		return err
	}
	id, ok := desk.Tagger().Find(ticket.Tag(strings.Trim(caseArg, "[]#")))
	if !ok {
		n, err := strconv.ParseUint(caseArg, 10, 64)
		if err != nil || n == 0 {
			return usageError("%q is not a case number such as %s", caseArg, desk.Tagger().Case(42))
		}
		id = n
	}
	var t *ticket.Ticket
	err = desk.Update(func(tx ticket.Tx) error {
		if t, err = tx.Ticket(id); err != nil {
			return err
		}
		return desk.Responded(tx, t, at)
	})
	if errors.Is(err, ticket.ErrNotFound) {
		return fmt.Errorf("case %s: no such case in %s", desk.Tagger().Case(id), cfg.Store.Path)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: response recorded at %s\n", t.Case, at.Format(time.RFC3339))
	if t.SLA == nil || len(t.SLA.Clocks) == 0 {
		fmt.Fprintln(w, "  no SLA promises")
	}
	if t.SLA != nil {
		for _, c := range t.SLA.Clocks {
			switch {
			case !c.Met.IsZero():
				fmt.Fprintf(w, "  %-15s met %s (due %s)\n", c.Promise, c.Met.Format(time.RFC3339), c.Due.Format(time.RFC3339))
			case c.Running():
				fmt.Fprintf(w, "  %-15s due %s\n", c.Promise, c.Due.Format(time.RFC3339))
			default:
				fmt.Fprintf(w, "  %-15s stopped (%s of %s used)\n", c.Promise, c.Used, c.Budget)
			}
		}
	}
	return nil
}
