package main

import (
	"fmt"
	"maps"
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/templates"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The SLA configuration: calendars, plans and agreements, each a list of
// named entries, and the sla section for what applies to all of them.
// Validate builds them into sla objects (kept in SLAConfig.built), so that
// every problem is reported with its key before the daemon starts, and the
// daemon gets the very objects that were checked.

// CalendarConfig is a business-hour calendar. With base, it starts as that
// built-in calendar (its hours and holidays; 9-5, 7-7 and 24x7 in
// time_zone) and the keys given replace those parts.
type CalendarConfig struct {
	Name     string          `mapstructure:"name" yaml:"name"`
	Base     string          `mapstructure:"base" yaml:"base,omitempty"`
	TimeZone string          `mapstructure:"time_zone" yaml:"time_zone,omitempty"`
	Hours    string          `mapstructure:"hours" yaml:"hours,omitempty"`
	Holidays []string        `mapstructure:"holidays" yaml:"holidays,omitempty"`
	Closures []ClosureConfig `mapstructure:"closures" yaml:"closures,omitempty"`
}

// ClosureConfig closes a calendar on a date ("2026-12-24", or "12-24"
// every year), the whole day or from/to a time of day.
type ClosureConfig struct {
	Date   string `mapstructure:"date" yaml:"date"`
	From   string `mapstructure:"from" yaml:"from,omitempty"`
	To     string `mapstructure:"to" yaml:"to,omitempty"`
	Reason string `mapstructure:"reason" yaml:"reason,omitempty"`
}

// PlanConfig is a level of service.
type PlanConfig struct {
	Name     string `mapstructure:"name" yaml:"name"`
	Calendar string `mapstructure:"calendar" yaml:"calendar"`
	// WarnAt is the share of a target after which the warn list hears; 0:
	// 0.75.
	WarnAt float64 `mapstructure:"warn_at" yaml:"warn_at,omitempty"`
	// Priorities by "1" to "4", or "all"; a numbered entry overrides what
	// "all" says, key by key.
	Priorities map[string]TargetsConfig `mapstructure:"priorities" yaml:"priorities"`
	Escalation EscalationConfig         `mapstructure:"escalation" yaml:"escalation,omitempty"`
}

// TargetsConfig are the promises for one priority: "4h", "3bd", "nbd".
type TargetsConfig struct {
	FirstResponse string `mapstructure:"first_response" yaml:"first_response,omitempty"`
	Update        string `mapstructure:"update" yaml:"update,omitempty"`
	Resolution    string `mapstructure:"resolution" yaml:"resolution,omitempty"`
	// Calendar replaces the plan's calendar for this priority.
	Calendar string `mapstructure:"calendar" yaml:"calendar,omitempty"`
}

// EscalationConfig says who hears of a promise about to break or broken:
// group names (sla.groups) or addresses.
type EscalationConfig struct {
	Warn   []string     `mapstructure:"warn" yaml:"warn,omitempty"`
	Breach []string     `mapstructure:"breach" yaml:"breach,omitempty"`
	Then   []StepConfig `mapstructure:"then" yaml:"then,omitempty"`
}

// StepConfig is an escalation step, after business time from the breach.
type StepConfig struct {
	After time.Duration `mapstructure:"after" yaml:"after"`
	To    []string      `mapstructure:"to" yaml:"to"`
}

// AgreementConfig is a support contract.
type AgreementConfig struct {
	Name      string   `mapstructure:"name" yaml:"name"`
	Customers []string `mapstructure:"customers" yaml:"customers"`
	Plan      string   `mapstructure:"plan" yaml:"plan"`
	// ValidFrom and ValidUntil are the first and the last day of the
	// contract (both included), in the plan calendar's time zone.
	ValidFrom            string               `mapstructure:"valid_from" yaml:"valid_from,omitempty"`
	ValidUntil           string               `mapstructure:"valid_until" yaml:"valid_until,omitempty"`
	Language             string               `mapstructure:"language" yaml:"language,omitempty"`
	RequiredFields       []string             `mapstructure:"required_fields" yaml:"required_fields,omitempty"`
	PriorityRules        []PriorityRuleConfig `mapstructure:"priority_rules" yaml:"priority_rules,omitempty"`
	TrustPriorityHeaders bool                 `mapstructure:"trust_priority_headers" yaml:"trust_priority_headers,omitempty"`
	DefaultPriority      int                  `mapstructure:"default_priority" yaml:"default_priority,omitempty"`
	HourBank             HourBankConfig       `mapstructure:"hour_bank" yaml:"hour_bank,omitempty"`
	Reports              ReportsConfig        `mapstructure:"reports" yaml:"reports,omitempty"`
	// Contacts get hour bank warnings (and, without reports.to, reports)
	// for the customer.
	Contacts []string `mapstructure:"contacts" yaml:"contacts,omitempty"`
}

// PriorityRuleConfig gives mail matching Pattern (a Go regular
// expression) a priority.
type PriorityRuleConfig struct {
	Pattern     string `mapstructure:"pattern" yaml:"pattern"`
	Priority    int    `mapstructure:"priority" yaml:"priority"`
	SubjectOnly bool   `mapstructure:"subject_only" yaml:"subject_only,omitempty"`
}

// HourBankConfig is prepaid engineer time: hours per month, quarter or year.
type HourBankConfig struct {
	Hours time.Duration `mapstructure:"hours" yaml:"hours,omitempty"`
	Per   string        `mapstructure:"per" yaml:"per,omitempty"`
	// Warn is the percentage of Hours whose use is mailed; 0 means 80.
	Warn int `mapstructure:"warn" yaml:"warn,omitempty"`
	// CarryOver moves a period's unused hours into the next period only
	// (sla.HourBank.CarryOver); it needs the agreement's valid_from.
	CarryOver bool `mapstructure:"carry_over" yaml:"carry_over,omitempty"`
}

// ReportsConfig is an agreement's periodic case reports: which cadences
// (month, quarter, year), the yearly report's day in Q1 of the next year
// ("02-01"; "": 1 January), recipients ("": the contacts), and whether the
// mail has an HTML part with a chart.
type ReportsConfig struct {
	Every    []string `mapstructure:"every" yaml:"every,omitempty"`
	YearlyOn string   `mapstructure:"yearly_on" yaml:"yearly_on,omitempty"`
	To       []string `mapstructure:"to" yaml:"to,omitempty"`
	HTML     bool     `mapstructure:"html" yaml:"html,omitempty"`
}

// GroupConfig is a list of people escalation mail goes to, and the
// calendar of their office hours (empty: the ticket's plan's).
type GroupConfig struct {
	Addresses []string `mapstructure:"addresses" yaml:"addresses"`
	Calendar  string   `mapstructure:"calendar" yaml:"calendar,omitempty"`
}

// SLAConfig applies to every agreement.
type SLAConfig struct {
	// DefaultPlan is the plan of senders no agreement names; "": they are
	// not covered and get no promise.
	DefaultPlan string `mapstructure:"default_plan" yaml:"default_plan"`
	// NotCoveredReply answers senders without agreement (when there is no
	// default plan) with the not-covered mail instead of the ack.
	NotCoveredReply bool `mapstructure:"not_covered_reply" yaml:"not_covered_reply"`
	// Groups are the escalation groups plans name, by name.
	Groups map[string]GroupConfig `mapstructure:"groups" yaml:"groups,omitempty"`

	built *slaObjects // by Validate
}

// Calendars, Plans and Agreements are the list sections.
type (
	Calendars  []CalendarConfig
	Plans      []PlanConfig
	Agreements []AgreementConfig
)

// slaObjects are the sla objects Validate built.
type slaObjects struct {
	calendars  map[string]*sla.Calendar // by name, custom ones
	plans      map[string]*sla.Plan
	agreements []*sla.Agreement
	deflt      *sla.Agreement
	groups     map[string]ticket.EscalationGroup
	index      *sla.Agreements // nil: no SLA
}

// slaBuild returns the objects being built, starting afresh when the
// calendars section (checked first) asks.
func (c *Config) slaBuild(fresh bool) *slaObjects {
	if fresh || c.SLA.built == nil {
		c.SLA.built = &slaObjects{calendars: map[string]*sla.Calendar{}, plans: map[string]*sla.Plan{}, groups: map[string]ticket.EscalationGroup{}}
	}
	return c.SLA.built
}

// calendar resolves a calendar name: a custom calendar, or a built-in one
// (9-5, 7-7 and 24x7 in UTC; define a calendar with base for another zone).
func (o *slaObjects) calendar(name string) (*sla.Calendar, error) {
	if c, ok := o.calendars[name]; ok {
		return c, nil
	}
	c, err := sla.Builtin(name, nil)
	if err != nil {
		return nil, fmt.Errorf("calendar %q is neither built in (oslo, 9-5, 7-7, 24x7) nor under calendars%s", name, listed(o.calendars))
	}
	return c, nil
}

// listed names a map's keys for a message: " (a, b)", or "" when empty.
func listed[V any](m map[string]V) string {
	if len(m) == 0 {
		return ""
	}
	return " (" + strings.Join(slices.Sorted(maps.Keys(m)), ", ") + ")"
}

func (cs *Calendars) check(c *Config, p *problems) {
	o := c.slaBuild(true)
	namedEntries(p, "calendars", *cs, func(cc CalendarConfig) string { return cc.Name }, func(key string, cc CalendarConfig) {
		if _, err := sla.Builtin(cc.Name, nil); err == nil {
			p.add(key+".name", "%q is a built-in calendar; give yours another name, e.g. %q", cc.Name, cc.Name+"-custom")
			return
		}
		if cal, ok := buildCalendar(p, key, cc); ok {
			o.calendars[cc.Name] = cal
		}
	})
}

// namedEntries calls each for the entries of a list section whose name is
// valid and not taken by an entry before; key is "section[i]".
func namedEntries[E any](p *problems, section string, list []E, name func(E) string, each func(key string, e E)) {
	seen := map[string]bool{}
	for i, e := range list {
		key := fmt.Sprintf("%s[%d]", section, i)
		n := name(e)
		if !nameOK(p, key, n) {
			continue
		}
		if seen[n] {
			p.add(key+".name", "%q is defined twice", n)
			continue
		}
		seen[n] = true
		each(key, e)
	}
}

// nameOK checks a list entry's name: letters, digits and a few marks.
func nameOK(p *problems, key, name string) bool {
	if strings.TrimSpace(name) == "" {
		p.add(key+".name", "required: every entry needs a name")
		return false
	}
	if name != strings.TrimSpace(name) {
		p.add(key+".name", "%q has spaces around it", name)
		return false
	}
	return true
}

func buildCalendar(p *problems, key string, cc CalendarConfig) (*sla.Calendar, bool) {
	n := len(*p)
	spec := sla.CalendarSpec{Name: cc.Name}
	if cc.TimeZone != "" {
		loc, err := time.LoadLocation(cc.TimeZone)
		if err != nil || cc.TimeZone == "Local" {
			p.add(key+".time_zone", "%q is not an IANA time zone, e.g. \"Europe/Oslo\"", cc.TimeZone)
		}
		spec.Location = loc
	}
	if cc.Base != "" {
		base, err := sla.Builtin(cc.Base, spec.Location)
		if err != nil {
			p.add(key+".base", "%q is not a built-in calendar; use oslo, 9-5, 7-7 or 24x7", cc.Base)
		} else {
			spec.Week, spec.Holidays = base.Week, base.Holidays
			if spec.Location == nil {
				spec.Location = base.Location
			} else if strings.EqualFold(cc.Base, sla.CalendarOslo) {
				p.add(key+".time_zone", "the oslo calendar is in Europe/Oslo; for other zones base it on 9-5 or 7-7, or give hours")
			}
		}
	} else {
		if cc.TimeZone == "" {
			p.add(key+".time_zone", `required without base, e.g. "Europe/Oslo"`)
		}
		if cc.Hours == "" {
			p.add(key+".hours", `required without base, e.g. "mon-fri 08:00-16:00"`)
		}
	}
	if cc.Hours != "" {
		week, err := sla.ParseWeek(cc.Hours)
		if err != nil {
			p.add(key+".hours", "%v", slaProblem(err))
		}
		spec.Week = week
	}
	if cc.Holidays != nil {
		spec.Holidays = nil
		for j, h := range cc.Holidays {
			if !slices.Contains(sla.HolidaySets(), strings.ToLower(h)) {
				p.add(fmt.Sprintf("%s.holidays[%d]", key, j), "%q is not a holiday set; use one of %s", h, strings.Join(sla.HolidaySets(), ", "))
				continue
			}
			spec.Holidays = append(spec.Holidays, h)
		}
	}
	for j, cl := range cc.Closures {
		ck := fmt.Sprintf("%s.closures[%d]", key, j)
		d, err := sla.ParseDate(cl.Date)
		if err != nil {
			p.add(ck+".date", "%v", slaProblem(err))
			continue
		}
		closure := sla.Closure{Date: d, Reason: cl.Reason}
		if cl.From != "" {
			if closure.From, err = sla.ParseClock(cl.From); err != nil {
				p.add(ck+".from", "%v", slaProblem(err))
			}
		}
		if cl.To != "" {
			if closure.To, err = sla.ParseClock(cl.To); err != nil {
				p.add(ck+".to", "%v", slaProblem(err))
			}
		}
		spec.Closures = append(spec.Closures, closure)
	}
	if len(*p) > n {
		return nil, false
	}
	cal, err := sla.NewCalendar(spec)
	if err != nil {
		for _, e := range unjoin(err) {
			p.add(key, "%v", slaProblem(e))
		}
		return nil, false
	}
	return cal, true
}

func (ps *Plans) check(c *Config, p *problems) {
	o := c.slaBuild(false)
	namedEntries(p, "plans", *ps, func(pc PlanConfig) string { return pc.Name }, func(key string, pc PlanConfig) {
		if plan, ok := buildPlan(p, key, pc, o); ok {
			o.plans[pc.Name] = plan
		}
	})
}

func buildPlan(p *problems, key string, pc PlanConfig, o *slaObjects) (*sla.Plan, bool) {
	n := len(*p)
	plan := &sla.Plan{Name: pc.Name, WarnAt: pc.WarnAt, Priorities: map[int]sla.PriorityTargets{}}
	if pc.Calendar == "" {
		p.add(key+".calendar", `required: a calendar name, e.g. "oslo"`)
	} else if cal, err := o.calendar(pc.Calendar); err != nil {
		p.add(key+".calendar", "%v", err)
	} else {
		plan.Calendar = cal
	}
	if pc.WarnAt < 0 || pc.WarnAt >= 1 {
		p.add(key+".warn_at", "%v must be a share between 0 and 1, e.g. 0.75", pc.WarnAt)
	}
	if len(pc.Priorities) == 0 {
		p.add(key+".priorities", `required: targets per priority, e.g. {all: {first_response: 4h}}`)
	}
	all := pc.Priorities["all"]
	for prio := sla.HighestPriority; prio <= sla.LowestPriority; prio++ {
		tc := all
		if own, ok := pc.Priorities[fmt.Sprint(prio)]; ok {
			tc = overlay(all, own)
		}
		pk := fmt.Sprintf("%s.priorities[%d]", key, prio)
		var pt sla.PriorityTargets
		for _, f := range []struct {
			name string
			s    string
			tg   *sla.Target
		}{{"first_response", tc.FirstResponse, &pt.FirstResponse}, {"update", tc.Update, &pt.Update}, {"resolution", tc.Resolution, &pt.Resolution}} {
			tg, err := sla.ParseTarget(f.s)
			if err != nil {
				p.add(pk+"."+f.name, "%v", slaProblem(err))
			}
			*f.tg = tg
		}
		if tc.Calendar != "" {
			cal, err := o.calendar(tc.Calendar)
			if err != nil {
				p.add(pk+".calendar", "%v", err)
			}
			pt.Calendar = cal
		}
		if pt != (sla.PriorityTargets{}) {
			plan.Priorities[prio] = pt
		}
	}
	for k := range pc.Priorities {
		if k != "all" && (len(k) != 1 || k < "1" || k > "4") {
			p.add(fmt.Sprintf("%s.priorities[%s]", key, k), `priorities are "1" (most urgent) to "4", or "all"`)
		}
	}
	esc := pc.Escalation
	plan.Escalation = sla.Escalation{Warn: esc.Warn, Breach: esc.Breach}
	for j, st := range esc.Then {
		if st.After < 0 {
			p.add(fmt.Sprintf("%s.escalation.then[%d].after", key, j), "%v must not be negative", st.After)
		}
		plan.Escalation.Then = append(plan.Escalation.Then, sla.EscalationStep{After: st.After, To: st.To})
	}
	if len(*p) > n {
		return nil, false
	}
	if err := plan.Validate(); err != nil {
		for _, e := range unjoin(err) {
			p.add(key, "%v", slaProblem(e))
		}
		return nil, false
	}
	return plan, true
}

// overlay returns base with the keys own sets.
func overlay(base, own TargetsConfig) TargetsConfig {
	for _, f := range []struct{ dst, src *string }{
		{&base.FirstResponse, &own.FirstResponse}, {&base.Update, &own.Update},
		{&base.Resolution, &own.Resolution}, {&base.Calendar, &own.Calendar},
	} {
		if *f.src != "" {
			*f.dst = *f.src
		}
	}
	return base
}

func (as *Agreements) check(c *Config, p *problems) {
	o := c.slaBuild(false)
	o.agreements = nil
	namedEntries(p, "agreements", *as, func(ac AgreementConfig) string { return ac.Name }, func(key string, ac AgreementConfig) {
		if ag, ok := buildAgreement(p, key, ac, o); ok {
			o.agreements = append(o.agreements, ag)
		}
	})
}

func buildAgreement(p *problems, key string, ac AgreementConfig, o *slaObjects) (*sla.Agreement, bool) {
	n := len(*p)
	ag := &sla.Agreement{Name: ac.Name, Customers: ac.Customers, Language: ac.Language, RequiredFields: ac.RequiredFields,
		TrustPriorityHeaders: ac.TrustPriorityHeaders, DefaultPriority: ac.DefaultPriority}
	if len(ac.Customers) == 0 {
		p.add(key+".customers", `required: addresses or domains, e.g. [example.com, ops@example.net]`)
	}
	loc := time.UTC
	switch plan, ok := o.plans[ac.Plan]; {
	case ac.Plan == "":
		p.add(key+".plan", "required: the name of a plan under plans")
	case !ok:
		p.add(key+".plan", "%q is not a plan under plans%s", ac.Plan, listed(o.plans))
	default:
		ag.Plan = plan
		loc = plan.Calendar.Location
	}
	if ac.ValidFrom != "" {
		if d, err := time.ParseInLocation(time.DateOnly, ac.ValidFrom, loc); err != nil {
			p.add(key+".valid_from", "%q is not a date; write YYYY-MM-DD", ac.ValidFrom)
		} else {
			ag.ValidFrom = d
		}
	}
	if ac.ValidUntil != "" {
		if d, err := time.ParseInLocation(time.DateOnly, ac.ValidUntil, loc); err != nil {
			p.add(key+".valid_until", "%q is not a date; write YYYY-MM-DD (the last day the agreement is valid)", ac.ValidUntil)
		} else {
			ag.ValidUntil = d.AddDate(0, 0, 1) // exclusive in sla
		}
	}
	if ac.Language != "" && !slices.Contains(templates.Languages(), ac.Language) {
		p.add(key+".language", "%q is not a language we have mail texts in; use one of %s", ac.Language, strings.Join(templates.Languages(), ", "))
	}
	for j, r := range ac.PriorityRules {
		rk := fmt.Sprintf("%s.priority_rules[%d]", key, j)
		re, err := regexp.Compile(r.Pattern)
		if err != nil || r.Pattern == "" {
			p.add(rk+".pattern", "%q is not a regular expression (%v); e.g. \"(?i)system down\"", r.Pattern, err)
			continue
		}
		if r.Priority < sla.HighestPriority || r.Priority > sla.LowestPriority {
			p.add(rk+".priority", "%d is not 1–4", r.Priority)
			continue
		}
		ag.PriorityRules = append(ag.PriorityRules, sla.PriorityRule{Pattern: re, Priority: r.Priority, SubjectOnly: r.SubjectOnly})
	}
	if ac.HourBank != (HourBankConfig{}) {
		ag.HourBank = sla.HourBank{Hours: ac.HourBank.Hours, Per: sla.Period(ac.HourBank.Per), CarryOver: ac.HourBank.CarryOver}
		ag.HourBankWarn = ac.HourBank.Warn
	}
	for j, c := range ac.Contacts {
		a, err := mail.ParseAddress(c)
		if err != nil {
			p.add(fmt.Sprintf("%s.contacts[%d]", key, j), "%q is not a mail address; write name@example.com", c)
			continue
		}
		ag.Contacts = append(ag.Contacts, strings.ToLower(a.Address))
	}
	ag.Reports = sla.ReportSchedule{To: ac.Reports.To, HTML: ac.Reports.HTML}
	for _, r := range ac.Reports.Every {
		ag.Reports.Every = append(ag.Reports.Every, sla.Period(r))
	}
	if on := ac.Reports.YearlyOn; on != "" {
		if d, err := sla.ParseDate(on); err != nil || d.Year != 0 {
			p.add(key+".reports.yearly_on", "%q is not a day of the year; write MM-DD within Q1, e.g. \"02-01\"", on)
		} else {
			ag.Reports.YearlyOn = d
		}
	}
	// The rest (customers, hour bank, reports, default priority) is
	// sla's to check; without a plan it would only repeat that.
	if ag.Plan != nil {
		if err := ag.Validate(); err != nil {
			for _, e := range unjoin(err) {
				p.add(key, "%v", slaProblem(e))
			}
		}
	}
	return ag, len(*p) == n
}

func (s *SLAConfig) check(c *Config, p *problems) {
	o := c.slaBuild(false)
	o.groups = map[string]ticket.EscalationGroup{}
	for _, name := range slices.Sorted(maps.Keys(s.Groups)) {
		g := s.Groups[name]
		key := fmt.Sprintf("sla.groups[%q]", name)
		var eg ticket.EscalationGroup
		if len(g.Addresses) == 0 {
			p.add(key+".addresses", "required: who is in the group, e.g. [lead@example.com]")
		}
		for j, a := range g.Addresses {
			if addr, err := mail.ParseAddress(a); err != nil || addr.Name != "" {
				p.add(fmt.Sprintf("%s.addresses[%d]", key, j), "%q is not a bare mail address, e.g. \"lead@example.com\"", a)
				continue
			}
			eg.Addresses = append(eg.Addresses, a)
		}
		if g.Calendar != "" {
			cal, err := o.calendar(g.Calendar)
			if err != nil {
				p.add(key+".calendar", "%v", err)
			}
			eg.Calendar = cal
		}
		o.groups[strings.ToLower(name)] = eg
	}
	// Every escalation entry is a group or an address.
	for i, pc := range c.Plans {
		esc := pc.Escalation
		lists := map[string][]string{"warn": esc.Warn, "breach": esc.Breach}
		for j, st := range esc.Then {
			lists[fmt.Sprintf("then[%d].to", j)] = st.To
		}
		for _, which := range slices.Sorted(maps.Keys(lists)) {
			for k, e := range lists[which] {
				if strings.Contains(e, "@") {
					if _, err := mail.ParseAddress(e); err != nil {
						p.add(fmt.Sprintf("plans[%d].escalation.%s[%d]", i, which, k), "%q is not a mail address", e)
					}
				} else if _, ok := o.groups[strings.ToLower(e)]; !ok {
					p.add(fmt.Sprintf("plans[%d].escalation.%s[%d]", i, which, k), "%q is neither an address nor a group under sla.groups", e)
				}
			}
		}
	}
	o.deflt, o.index = nil, nil
	if s.DefaultPlan != "" {
		if plan, ok := o.plans[s.DefaultPlan]; ok {
			o.deflt = &sla.Agreement{Name: "default", Plan: plan}
		} else {
			p.add("sla.default_plan", "%q is not a plan under plans; \"\" leaves senders without agreement uncovered", s.DefaultPlan)
		}
	} else if s.NotCoveredReply && len(c.Agreements) == 0 {
		p.add("sla.not_covered_reply", "is set, but there are no agreements: every sender would be told they are not covered")
	}
	if len(c.Agreements) == 0 && o.deflt == nil {
		return // no SLA
	}
	if len(o.agreements) != len(c.Agreements) {
		return // reported above
	}
	idx, err := sla.NewAgreements(o.agreements, o.deflt)
	if err != nil {
		for _, e := range unjoin(err) {
			p.add("agreements", "%v", slaProblem(e))
		}
		return
	}
	o.index = idx
}

// slaAgreements are the agreements Validate built; nil (no SLA) before
// Validate or without agreements and default plan.
func (c *Config) slaAgreements() *sla.Agreements {
	if c.SLA.built == nil {
		return nil
	}
	return c.SLA.built.index
}

// slaGroups are the escalation groups Validate built.
func (c *Config) slaGroups() map[string]ticket.EscalationGroup {
	if c.SLA.built == nil {
		return nil
	}
	return c.SLA.built.groups
}

// slaProblem drops the "sla: invalid …" prefix of sla's errors; the key
// says where.
func slaProblem(err error) string {
	s := err.Error()
	for _, pre := range []string{"sla: invalid calendar ", "sla: invalid calendar: ", "sla: invalid target ", "sla: invalid plan ", "sla: invalid agreement ", "sla: invalid agreement: ", "sla: unknown holiday set "} {
		if rest, ok := strings.CutPrefix(s, pre); ok {
			return rest
		}
	}
	return s
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}

var timeType = reflect.TypeFor[time.Time]()

// dateHook lets YAML dates (valid_from: 2026-01-01, which YAML reads as a
// timestamp) fill string keys.
func dateHook(from, to reflect.Type, data any) (any, error) {
	if from == timeType && to.Kind() == reflect.String {
		return data.(time.Time).Format(time.DateOnly), nil
	}
	return data, nil
}

// reportsListHook reads the short form `reports: [month, year]` as
// `reports: {every: [month, year]}`, the form configurations had before
// reports gained yearly_on, to and html.
func reportsListHook(from, to reflect.Type, data any) (any, error) {
	if to == reflect.TypeFor[ReportsConfig]() && from.Kind() == reflect.Slice {
		return map[string]any{"every": data}, nil
	}
	return data, nil
}
