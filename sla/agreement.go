package sla

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// PriorityRule gives mails matching Pattern a priority. Rules are tried in
// order and the first match wins, so list the most urgent first.
type PriorityRule struct {
	Pattern  *regexp.Regexp
	Priority int
	// SubjectOnly restricts the rule to the subject, for words such as
	// "Normal" that would match too much in a body.
	SubjectOnly bool
}

// Period is a reporting or hour-bank period.
type Period string

// Periods.
const (
	Monthly   Period = "month"
	Quarterly Period = "quarter"
	Yearly    Period = "year"
)

// Bounds returns the period containing t, in t's location: [start, end).
func (p Period) Bounds(t time.Time) (start, end time.Time) {
	y, m, _ := t.Date()
	loc := t.Location()
	switch p {
	case Monthly:
		start = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 1, 0)
	case Quarterly:
		start = time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(0, 3, 0)
	case Yearly:
		start = time.Date(y, time.January, 1, 0, 0, 0, 0, loc)
		return start, start.AddDate(1, 0, 0)
	}
	return time.Time{}, time.Time{}
}

func (p Period) valid() bool { return p == Monthly || p == Quarterly || p == Yearly }

// HourBank is prepaid engineer time, e.g. 15 h per quarter (Trinax
// Alert!). The zero HourBank means none.
type HourBank struct {
	Hours time.Duration
	Per   Period
	// CarryOver moves the unused part of a period's Hours into the next
	// period only, where it is used first and expires at that period's
	// end. The chain starts, with nothing carried in, at the period that
	// contains the agreement's ValidFrom, which carry-over therefore
	// needs. With base allowance B, the carry into period P is C(P), and
	// C(P+1) = max(B − max(used(P) − C(P), 0), 0): carried-in hours never
	// carry twice.
	CarryOver bool
}

// Agreement is a support contract: which customers it covers, for which
// period, on which plan, and how their mail is read.
type Agreement struct {
	Name string
	// Customers are addresses ("ops@jotron.com") and domains ("jotron.com"
	// or "@jotron.com"; a domain also covers its subdomains).
	Customers []string
	Plan      *Plan
	// ValidFrom and ValidUntil bound the contract; zero means open-ended.
	// ValidUntil is exclusive: a contract for 2026 runs until 2027-01-01.
	ValidFrom, ValidUntil time.Time
	// Language of mail to the customer ("en", "nb", "sv"); empty: default.
	Language string
	// RequiredFields must appear as "Field: value" lines in a new request
	// (see MissingFields); the customer is asked for those missing.
	RequiredFields []string
	PriorityRules  []PriorityRule
	// TrustPriorityHeaders lets X-Priority and Importance headers set the
	// priority when no rule matched.
	TrustPriorityHeaders bool
	// DefaultPriority applies when nothing else sets one; zero means 3.
	DefaultPriority int
	HourBank        HourBank
	// HourBankWarn is the share of the hour bank, in percent, whose use
	// mails the contacts and the engineers, once per period; zero means 80.
	HourBankWarn int
	// Reports are the periodic case reports the customer gets (Jotron: a
	// yearly report in Q1; Trinax: monthly, quarterly and yearly).
	Reports ReportSchedule
	// Contacts are the customer's people who get hour bank warnings and,
	// unless Reports.To names others, reports (addresses); none means no
	// such mail goes to the customer.
	Contacts []string
}

// ValidAt reports whether the contract is in force at t.
func (ag *Agreement) ValidAt(t time.Time) bool {
	return (ag.ValidFrom.IsZero() || !t.Before(ag.ValidFrom)) && (ag.ValidUntil.IsZero() || t.Before(ag.ValidUntil))
}

// Priority returns DefaultPriority or 3.
func (ag *Agreement) Priority() int {
	if ag == nil || ag.DefaultPriority == 0 {
		return 3
	}
	return ag.DefaultPriority
}

// Validate reports every problem with ag at once, each wrapping
// ErrInvalidAgreement (or ErrInvalidPlan for its plan).
func (ag *Agreement) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w %q: %s", ErrInvalidAgreement, ag.Name, fmt.Sprintf(format, args...)))
	}
	if ag.Name == "" {
		bad("name is empty; give the agreement a name")
	}
	if ag.Plan == nil {
		bad("no plan; name the plan it buys")
	} else if err := ag.Plan.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("agreement %q: %w", ag.Name, err))
	}
	for _, c := range ag.Customers {
		if _, err := customerKey(c); err != nil {
			bad("%v", err)
		}
	}
	if !ag.ValidFrom.IsZero() && !ag.ValidUntil.IsZero() && !ag.ValidFrom.Before(ag.ValidUntil) {
		bad("valid_from %s is not before valid_until %s", ag.ValidFrom.Format(time.DateOnly), ag.ValidUntil.Format(time.DateOnly))
	}
	for i, r := range ag.PriorityRules {
		if r.Pattern == nil {
			bad("priority rule %d has no pattern", i+1)
		}
		if r.Priority < HighestPriority || r.Priority > LowestPriority {
			bad("priority rule %d: priority %d is not 1–4", i+1, r.Priority)
		}
	}
	if ag.DefaultPriority != 0 && (ag.DefaultPriority < HighestPriority || ag.DefaultPriority > LowestPriority) {
		bad("default priority %d is not 1–4", ag.DefaultPriority)
	}
	if ag.HourBank != (HourBank{}) && (ag.HourBank.Hours <= 0 || !ag.HourBank.Per.valid()) {
		bad("hour bank %v per %q: want positive hours per month, quarter or year", ag.HourBank.Hours, ag.HourBank.Per)
	}
	if ag.HourBank.CarryOver && ag.ValidFrom.IsZero() {
		bad("hour bank carry_over needs valid_from, the agreement's first day: unused hours carry over period by period from the period that contains it")
	}
	if ag.HourBankWarn < 0 || ag.HourBankWarn > 100 {
		bad("hour bank warn level %d%%: want 1–100, or 0 for 80", ag.HourBankWarn)
	}
	ag.validateReports(bad)
	return errors.Join(errs...)
}

// Coverage is how an agreement applies to a sender at a time.
type Coverage int

// Coverages. The zero value is NotCovered.
const (
	// NotCovered: no agreement names the sender; For returns the default
	// agreement, if any, for the caller to apply or refuse.
	NotCovered Coverage = iota
	// Covered: an agreement naming the sender is in force.
	Covered
	// Expired: agreements name the sender but none is in force (expired or
	// not yet started); For returns the most specific, most recent one so
	// the reply can say which contract lapsed.
	Expired
)

func (c Coverage) String() string {
	switch c {
	case Covered:
		return "covered"
	case Expired:
		return "expired"
	}
	return "not covered"
}

// Agreements finds the agreement that covers a sender.
type Agreements struct {
	byKey map[string][]*Agreement
	all   []*Agreement
	deflt *Agreement
}

// NewAgreements validates list and indexes it by customer. def, which may
// be nil, is returned for senders no agreement names. Two agreements that
// name the same customer for overlapping periods are an error: which one
// applies would be a guess.
func NewAgreements(list []*Agreement, def *Agreement) (*Agreements, error) {
	a := &Agreements{byKey: map[string][]*Agreement{}, deflt: def}
	var errs []error
	for _, ag := range list {
		if ag == nil {
			continue
		}
		err := ag.Validate()
		if len(ag.Customers) == 0 {
			err = errors.Join(err, fmt.Errorf("%w %q: no customers; list addresses or domains", ErrInvalidAgreement, ag.Name))
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		a.all = append(a.all, ag)
		for _, c := range ag.Customers {
			key, _ := customerKey(c)
			for _, other := range a.byKey[key] {
				if other != ag && overlaps(ag, other) {
					errs = append(errs, fmt.Errorf("%w: %q and %q both cover %s for overlapping periods; end one before the other starts", ErrInvalidAgreement, other.Name, ag.Name, c))
				}
			}
			a.byKey[key] = append(a.byKey[key], ag)
		}
	}
	if def != nil {
		if err := def.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("default agreement: %w", err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return a, nil
}

func overlaps(a, b *Agreement) bool {
	aEndsFirst := !a.ValidUntil.IsZero() && !b.ValidFrom.IsZero() && !a.ValidUntil.After(b.ValidFrom)
	bEndsFirst := !b.ValidUntil.IsZero() && !a.ValidFrom.IsZero() && !b.ValidUntil.After(a.ValidFrom)
	return !aEndsFirst && !bEndsFirst
}

// All returns the agreements in the order given.
func (a *Agreements) All() []*Agreement { return a.all }

// Default returns the agreement for senders no agreement names, or nil.
func (a *Agreements) Default() *Agreement { return a.deflt }

// For returns the agreement for sender at time at. The most specific
// customer entry that has an agreement in force wins: the full address,
// then its domain, then each parent domain (ops@eu.jotron.com: the address,
// eu.jotron.com, jotron.com). A lapsed contract for the address does not
// hide one in force for its domain. sender may carry a display name
// ("Ola <ola@jotron.com>").
func (a *Agreements) For(sender string, at time.Time) (*Agreement, Coverage) {
	var lapsed *Agreement
	for _, key := range lookupKeys(sender) {
		for _, ag := range a.byKey[key] {
			if ag.ValidAt(at) {
				return ag, Covered
			}
		}
		if lapsed == nil {
			lapsed = mostRecent(a.byKey[key], at)
		}
	}
	if lapsed != nil {
		return lapsed, Expired
	}
	return a.deflt, NotCovered
}

// mostRecent picks, among agreements not in force at at, the one that
// ended last before at, else the one that starts soonest.
func mostRecent(list []*Agreement, at time.Time) *Agreement {
	var best *Agreement
	for _, ag := range list {
		switch {
		case best == nil:
			best = ag
		case !ag.ValidUntil.After(at) && ag.ValidUntil.After(best.ValidUntil):
			best = ag
		case best.ValidUntil.After(at) && !ag.ValidUntil.After(at):
			best = ag
		}
	}
	return best
}

// customerKey normalises a customer entry to "addr@domain" or "@domain".
func customerKey(c string) (string, error) {
	s := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(c)), ".")
	local, domain := "", s
	if i := strings.IndexByte(s, '@'); i >= 0 {
		local, domain = s[:i], s[i+1:]
	}
	switch {
	case domain == "" || strings.ContainsAny(domain+local, "@ <>,;\t\"") || strings.HasPrefix(domain, ".") || strings.Contains(domain, ".."):
		return "", fmt.Errorf("customer %q: want an address (ops@example.com) or a domain (example.com)", c)
	case !strings.Contains(domain, "."):
		return "", fmt.Errorf("customer %q: domain %q has no dot; a top-level domain alone would cover too much", c, domain)
	case local == "":
		return "@" + domain, nil
	}
	return local + "@" + domain, nil
}

// lookupKeys lists the index keys for a sender, most specific first.
func lookupKeys(sender string) []string {
	s := strings.ToLower(strings.TrimSpace(sender))
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		if j := strings.IndexByte(s, '>'); j >= 0 {
			s = s[:j]
		}
	}
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return nil
	}
	keys := []string{s}
	for d := s[at+1:]; strings.Contains(d, "."); {
		keys = append(keys, "@"+d)
		_, d, _ = strings.Cut(d, ".")
	}
	return keys
}

// DetectPriority reads a priority from a mail: the first PriorityRule
// matching the subject (or the body, unless SubjectOnly) wins; failing
// that, and only with TrustPriorityHeaders, the X-Priority header (1–5:
// 1→1, 2→2, 3→3, 4 and 5→4) or else the Importance header (high→2,
// normal→3, low→4; urgent→1). ok is false when nothing says; then the
// caller uses Priority(). Only the first 64 KiB of the body are read.
func (ag *Agreement) DetectPriority(subject, body, xPriority, importance string) (prio int, ok bool) {
	if ag == nil {
		return 0, false
	}
	if len(body) > 64<<10 {
		body = body[:64<<10]
	}
	for _, r := range ag.PriorityRules {
		if r.Pattern == nil {
			continue
		}
		if r.Pattern.MatchString(subject) || (!r.SubjectOnly && r.Pattern.MatchString(body)) {
			return r.Priority, true
		}
	}
	if !ag.TrustPriorityHeaders {
		return 0, false
	}
	if x := strings.TrimSpace(xPriority); x != "" && x[0] >= '1' && x[0] <= '5' {
		return min(int(x[0]-'0'), LowestPriority), true
	}
	switch strings.ToLower(strings.TrimSpace(importance)) {
	case "urgent":
		return 1, true
	case "high":
		return 2, true
	case "normal":
		return 3, true
	case "low", "non-urgent":
		return 4, true
	}
	return 0, false
}
