package ticket

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Command is one #command line from the top of an engineer's mail.
type Command struct {
	Name string   // "status", "priority", "assign", "time", "cc", "note"
	Args []string // as written, lower-cased where the command is case-blind
	Line string   // the line as written, for confirmations and errors

	// Parsed values, by command.
	State    State         // status
	Priority int           // priority
	Minutes  time.Duration // time
	Address  string        // cc (lower-case)
	Remove   bool          // cc remove
}

// commandLine is a line that means to be a command: '#' and a word.
var commandLine = regexp.MustCompile(`^#([A-Za-z][A-Za-z-]*)\b\s*(.*)$`)

// CommandHelp lists the commands for help texts and error mails.
const CommandHelp = `#note                              (first line: internal note, not sent to the customer)
#status open|pending|resolved|closed
#priority 1-4
#assign NAME|me
#time 45m | 1h30m                  (time spent, for the hour bank)
#cc add|remove ADDRESS`

// ParseCommands reads the commands at the top of an engineer's mail: the
// lines up to the first that is neither blank nor a command. It returns the
// commands, the text after them, and one error per malformed or unknown
// command line (the caller then changes nothing).
func ParseCommands(text string) (cmds []Command, rest string, errs []error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	lines := strings.Split(text, "\n")
	i := 0
	for ; i < len(lines); i++ {
		line := strings.TrimSpace(strings.TrimPrefix(lines[i], "\ufeff"))
		if line == "" {
			continue
		}
		m := commandLine.FindStringSubmatch(line)
		if m == nil {
			break
		}
		c, err := parseCommand(strings.ToLower(m[1]), strings.Fields(m[2]), line)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		cmds = append(cmds, c)
	}
	return cmds, strings.Join(lines[i:], "\n"), errs
}

func parseCommand(name string, args []string, line string) (Command, error) {
	c := Command{Name: name, Args: args, Line: line}
	want := func(n int, usage string) error {
		if len(args) != n {
			return fmt.Errorf("%q: usage: %s", line, usage)
		}
		return nil
	}
	switch name {
	case "note":
		if len(args) != 0 {
			return c, fmt.Errorf("%q: #note stands alone on the first line; write the note below it", line)
		}
	case "status":
		if err := want(1, "#status open|pending|resolved|closed"); err != nil {
			return c, err
		}
		s := State(strings.ToLower(args[0]))
		if !s.Valid() || s == StateNew {
			return c, fmt.Errorf("%q: unknown status %q; use open, pending, resolved or closed", line, args[0])
		}
		c.State = s
	case "priority", "prio":
		c.Name = "priority"
		if err := want(1, "#priority 1-4"); err != nil {
			return c, err
		}
		p, err := strconv.Atoi(args[0])
		if err != nil || p < 1 || p > 4 {
			return c, fmt.Errorf("%q: priority must be 1 (critical) to 4 (low)", line)
		}
		c.Priority = p
	case "assign":
		if len(args) == 0 {
			return c, fmt.Errorf("%q: usage: #assign NAME|me", line)
		}
		c.Args = []string{strings.Join(args, " ")}
	case "time":
		if len(args) == 0 {
			return c, fmt.Errorf("%q: usage: #time 45m or #time 1h30m", line)
		}
		d, err := parseWorkTime(strings.Join(args, ""))
		if err != nil {
			return c, fmt.Errorf("%q: %v", line, err)
		}
		c.Minutes = d
	case "cc":
		if err := want(2, "#cc add|remove ADDRESS"); err != nil {
			return c, err
		}
		switch strings.ToLower(args[0]) {
		case "add":
		case "remove", "rm", "del":
			c.Remove = true
		default:
			return c, fmt.Errorf("%q: usage: #cc add|remove ADDRESS", line)
		}
		a, err := mail.ParseAddress(args[1])
		if err != nil || !strings.Contains(a.Address, "@") {
			return c, fmt.Errorf("%q: %q is not a mail address", line, args[1])
		}
		c.Address = strings.ToLower(a.Address)
	default:
		return c, fmt.Errorf("%q: unknown command #%s; the commands are:\n%s", line, name, CommandHelp)
	}
	return c, nil
}

// parseWorkTime reads "45m", "1h30m", "1h 30m", "1.5h", "90" (minutes) or
// "1:30". Logged time is whole minutes between 1 minute and 24 hours.
func parseWorkTime(s string) (time.Duration, error) {
	s = strings.ToLower(strings.ReplaceAll(s, " ", ""))
	var d time.Duration
	var err error
	switch {
	case s == "":
		err = fmt.Errorf("empty")
	case strings.Contains(s, ":"):
		h, m, _ := strings.Cut(s, ":")
		hi, err1 := strconv.Atoi(h)
		mi, err2 := strconv.Atoi(m)
		if err1 != nil || err2 != nil || mi < 0 || mi > 59 || hi < 0 {
			err = fmt.Errorf("%q is not a time like 1:30", s)
		}
		d = time.Duration(hi)*time.Hour + time.Duration(mi)*time.Minute
	case strings.Trim(s, "0123456789") == "":
		n, e := strconv.Atoi(s)
		if e != nil {
			err = fmt.Errorf("%q is not a number of minutes", s)
		}
		d = time.Duration(n) * time.Minute
	default:
		if strings.HasSuffix(s, "min") {
			s = strings.TrimSuffix(s, "in")
		}
		if strings.HasSuffix(s, "t") { // Norwegian/Swedish "1t30m"
			s = strings.TrimSuffix(s, "t") + "h"
		}
		s = strings.ReplaceAll(s, "t", "h")
		d, err = time.ParseDuration(s)
		if err != nil {
			err = fmt.Errorf("%q is not a time like 45m or 1h30m", s)
		}
	}
	if err != nil {
		return 0, err
	}
	d = d.Round(time.Minute)
	if d < time.Minute || d > 24*time.Hour {
		return 0, fmt.Errorf("time must be between 1m and 24h, not %s", d)
	}
	return d, nil
}
