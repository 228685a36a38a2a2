package sla

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestReportAtIsThePeriodEndOrTheDayInQ1(t *testing.T) {
	x := exampleAgreements(t)
	oslo := x.oslo.Location
	q1 := &Agreement{Name: "Jotron", Plan: x.jotron, Reports: ReportSchedule{Every: []Period{Yearly}, YearlyOn: Date{Month: time.February, Day: 1}}}
	plain := &Agreement{Name: "Trinax", Plan: x.jotron, Reports: ReportSchedule{Every: []Period{Monthly, Quarterly, Yearly}}}
	for _, tt := range []struct {
		ag    *Agreement
		per   Period
		start string // any time in the period, Oslo
		want  string // Oslo
	}{
		{plain, Monthly, "2026-03-01 00:00", "2026-04-01 00:00"},
		{plain, Monthly, "2026-10-17 13:00", "2026-11-01 00:00"}, // across the DST change
		{plain, Quarterly, "2026-12-31 23:59", "2027-01-01 00:00"},
		{plain, Yearly, "2026-01-01 00:00", "2027-01-01 00:00"},
		{q1, Yearly, "2026-06-30 12:00", "2027-02-01 00:00"},
		{q1, Monthly, "2026-06-30 12:00", "2026-07-01 00:00"}, // yearly_on is for the yearly report only
	} {
		got := tt.ag.ReportAt(tt.per, at(t, oslo, tt.start))
		if want := at(t, oslo, tt.want); !got.Equal(want) || got.Location() != oslo {
			t.Errorf("%s ReportAt(%s, %s) = %s, want %s in Oslo", tt.ag.Name, tt.per, tt.start, got, want)
		}
	}
}

func TestNextReportPeriod(t *testing.T) {
	x := exampleAgreements(t)
	oslo := x.oslo.Location
	feb1 := Date{Month: time.February, Day: 1}
	for _, tt := range []struct {
		name      string
		ag        Agreement
		per       Period
		now       string
		want      string // "" for none
		wantLabel string
	}{
		{"month_containing_now", Agreement{}, Monthly, "2026-03-31 23:59", "2026-03-01 00:00", "2026-03"},
		{"month_at_its_first_instant", Agreement{}, Monthly, "2026-04-01 00:00", "2026-04-01 00:00", "2026-04"},
		{"quarter", Agreement{}, Quarterly, "2026-08-15 10:00", "2026-07-01 00:00", "2026-Q3"},
		{"year_at_year_end", Agreement{}, Yearly, "2027-01-15 10:00", "2027-01-01 00:00", "2027"},
		{"year_before_while_its_q1_day_is_ahead", Agreement{Reports: ReportSchedule{YearlyOn: feb1}}, Yearly, "2027-01-15 10:00", "2026-01-01 00:00", "2026"},
		{"this_year_once_the_q1_day_came", Agreement{Reports: ReportSchedule{YearlyOn: feb1}}, Yearly, "2027-02-01 00:00", "2027-01-01 00:00", "2027"},
		{"not_yet_in_force_starts_at_valid_from", Agreement{ValidFrom: at(t, oslo, "2026-09-15 00:00")}, Monthly, "2026-03-10 00:00", "2026-09-01 00:00", "2026-09"},
		{"ended_contract_has_nothing_left", Agreement{ValidUntil: at(t, oslo, "2026-03-01 00:00")}, Monthly, "2026-03-10 00:00", "", ""},
		{"ended_contract_still_owes_last_years_q1_report", Agreement{ValidUntil: at(t, oslo, "2027-01-01 00:00"), Reports: ReportSchedule{YearlyOn: feb1}}, Yearly, "2027-01-20 00:00", "2026-01-01 00:00", "2026"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ag := tt.ag
			ag.Name, ag.Plan = "A", x.jotron
			got, ok := ag.NextReportPeriod(tt.per, at(t, oslo, tt.now))
			if tt.want == "" {
				if ok {
					t.Fatalf("NextReportPeriod = %s, want none", got)
				}
				return
			}
			if !ok || !got.Equal(at(t, oslo, tt.want)) || tt.per.Label(got) != tt.wantLabel {
				t.Errorf("NextReportPeriod = %s (%s), %v; want %s (%s)", got, tt.per.Label(got), ok, tt.want, tt.wantLabel)
			}
		})
	}
}

func TestReportScheduleValidation(t *testing.T) {
	x := exampleAgreements(t)
	for _, tt := range []struct {
		name string
		rs   ReportSchedule
		want []string // substrings of the error; none: valid
	}{
		{"monthly_to_a_named_address", ReportSchedule{Every: []Period{Monthly}, To: []string{"CIO <cio@trinax.se>", "ops@trinax.se"}}, nil},
		{"yearly_on_the_last_day_of_q1", ReportSchedule{Every: []Period{Yearly}, YearlyOn: Date{Month: time.March, Day: 31}}, nil},
		{"unknown_cadence", ReportSchedule{Every: []Period{"week"}}, []string{`report period "week"`}},
		{"yearly_on_in_april", ReportSchedule{Every: []Period{Yearly}, YearlyOn: Date{Month: time.April, Day: 1}}, []string{"yearly_on 04-01 is not in Q1"}},
		{"yearly_on_not_a_day", ReportSchedule{Every: []Period{Yearly}, YearlyOn: Date{Month: time.February, Day: 30}}, []string{"yearly_on 02-30 is not a day"}},
		{"yearly_on_with_a_year", ReportSchedule{Every: []Period{Yearly}, YearlyOn: Date{Year: 2027, Month: time.February, Day: 1}}, []string{"yearly_on 2027-02-01 is not a day of the year"}},
		{"yearly_on_leap_day", ReportSchedule{Every: []Period{Yearly}, YearlyOn: Date{Month: time.February, Day: 29}}, []string{"02-29 is not in every year"}},
		{"yearly_on_without_year", ReportSchedule{Every: []Period{Monthly}, YearlyOn: Date{Month: time.February, Day: 1}}, []string{"without a yearly report"}},
		{"bad_recipient", ReportSchedule{Every: []Period{Monthly}, To: []string{"ok@trinax.se", "cio at trinax"}}, []string{`reports to[1] "cio at trinax" is not a mail address`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ag := &Agreement{Name: "Trinax", Customers: []string{"trinax.se"}, Plan: x.jotron, Reports: tt.rs}
			err := ag.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidAgreement) {
				t.Fatalf("Validate = %v, want ErrInvalidAgreement", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestReportRecipientsAreToElseContacts(t *testing.T) {
	ag := &Agreement{Contacts: []string{"ceo@jotron.com"}}
	if got := ag.ReportRecipients(); !slices.Equal(got, []string{"ceo@jotron.com"}) {
		t.Errorf("without to: %v, want the contacts", got)
	}
	ag.Reports.To = []string{"Trinax CIO <CIO@Trinax.se>", "cio@trinax.se", "ops@trinax.se"}
	if got := ag.ReportRecipients(); !slices.Equal(got, []string{"cio@trinax.se", "ops@trinax.se"}) {
		t.Errorf("with to: %v, want its bare addresses, once each", got)
	}
	if got := (&Agreement{}).ReportRecipients(); len(got) != 0 {
		t.Errorf("neither to nor contacts: %v, want none", got)
	}
}

func TestInForceDuring(t *testing.T) {
	utc := func(m time.Month) time.Time { return time.Date(2026, m, 1, 0, 0, 0, 0, time.UTC) }
	ag := &Agreement{ValidFrom: utc(3), ValidUntil: utc(6)}
	for _, tt := range []struct {
		from, to time.Month
		want     bool
	}{
		{1, 3, false}, {2, 4, true}, {3, 4, true}, {5, 6, true}, {6, 7, false},
	} {
		if got := ag.InForceDuring(utc(tt.from), utc(tt.to)); got != tt.want {
			t.Errorf("InForceDuring(%s, %s) = %v, want %v", tt.from, tt.to, got, tt.want)
		}
	}
}
