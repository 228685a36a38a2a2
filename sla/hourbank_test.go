package sla

import (
	"strings"
	"testing"
	"time"
)

func TestHourBankCarryOut(t *testing.T) {
	bank := HourBank{Hours: 15 * time.Hour, Per: Quarterly, CarryOver: true}
	h := func(n float64) time.Duration { return time.Duration(n * float64(time.Hour)) }
	for _, tc := range []struct {
		name            string
		carriedIn, used time.Duration
		want            time.Duration
	}{
		{"nothing used carries the whole base", 0, 0, h(15)},
		{"part used carries the rest", 0, h(12), h(3)},
		{"base used up carries nothing", 0, h(15), 0},
		{"overage carries nothing", 0, h(20), 0},
		{"carried-in hours are used first", h(4), h(3), h(15)},
		{"carried-in hours unused expire, the base carries", h(4), 0, h(15)},
		{"use beyond the carried-in comes out of the base", h(4), h(10), h(9)},
		{"base and carried-in used up", h(4), h(19), 0},
	} {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			if got := bank.CarryOut(tc.carriedIn, tc.used); got != tc.want {
				t.Errorf("CarryOut(%v, %v) = %v, want %v", tc.carriedIn, tc.used, got, tc.want)
			}
		})
	}
	bank.CarryOver = false
	if got := bank.CarryOut(0, 0); got != 0 {
		t.Errorf("without carry-over CarryOut = %v, want 0", got)
	}
}

func TestCarryOverNeedsValidFrom(t *testing.T) {
	x := exampleAgreements(t)
	ag := &Agreement{Name: "T", Customers: []string{"t.example"}, Plan: x.jotron,
		HourBank: HourBank{Hours: 15 * time.Hour, Per: Quarterly, CarryOver: true}}
	err := ag.Validate()
	if err == nil || !strings.Contains(err.Error(), "carry_over needs valid_from") {
		t.Fatalf("Validate without valid_from = %v, want an error saying carry_over needs valid_from", err)
	}
	ag.ValidFrom = date(time.UTC, 2026, 1, 1)
	if err := ag.Validate(); err != nil {
		t.Errorf("Validate with valid_from = %v", err)
	}
}
