package sla

import (
	"slices"
	"strings"
	"testing"
)

func TestMissingFields(t *testing.T) {
	emt := []string{"End Customer Name", "System Type", "Host ID", "Software Release", "Call Scenario"}
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"all present", "Hello,\nEnd Customer Name: Acme Dental\nSystem Type: UCX\nHost ID: 1A2B-3C4D\nSoftware Release: 7.0.12\nCall Scenario: inbound calls drop after 30 s\n", nil},
		{"spacing, case and separators vary", "end customer  name : Acme\r\nSYSTEM TYPE = UCX\r\nHost-ID – 1A2B\r\nsoftware release：7.0\r\n* Call scenario: transfer fails\r\n", nil},
		{"bullets, numbering, quotes and bold", "1. End Customer Name: Acme\n2) System Type: UCX\n> Host ID: 99\n- **Software Release:** 7\n• Call Scenario: x\n", nil},
		{"remarks in the label", "End Customer Name (company): Acme\nSystem Type [model]: UCX\nHostID: 1\nSoftware Release: 7\nCall Scenario: x\n", nil},
		{"empty values count as missing", "End Customer Name:\nSystem Type: UCX\nHost ID: -\nSoftware Release: <>\nCall Scenario: ?\n", []string{"End Customer Name", "Host ID", "Software Release", "Call Scenario"}},
		{"mentioned in prose is not filled in", "Please find the End Customer Name and Host ID below.\nSystem Type: UCX\n", []string{"End Customer Name", "Host ID", "Software Release", "Call Scenario"}},
		{"a longer label is another field", "Previous End Customer Name: Acme\nSystem Type: UCX\nHost ID: 1\nSoftware Release: 7\nCall Scenario: x\n", []string{"End Customer Name"}},
		{"nothing", "", emt},
	}
	for _, tt := range tests {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			if got := MissingFields(emt, tt.text); !slices.Equal(got, tt.want) {
				t.Fatalf("MissingFields = %q, want %q", got, tt.want)
			}
		})
	}
	if got := MissingFields(nil, "anything"); got != nil {
		t.Errorf("no required fields: %q", got)
	}
}

func FuzzMissingFields(f *testing.F) {
	f.Add("End Customer Name", "End Customer Name: Acme\n")
	f.Add("Host ID", "> host-id = 1\r\n")
	f.Add("x", ":\n=\n - \n")
	f.Fuzz(func(t *testing.T, field, text string) {
		got := MissingFields([]string{field}, text)
		if len(got) > 1 || (len(got) == 1 && got[0] != field) {
			t.Fatalf("MissingFields returned %q for field %q", got, field)
		}
		// Adding a filled-in line for the field always satisfies it,
		// unless the name has no letters or digits to match on.
		if fieldKey(trimLabelPrefix(field)) != "" && !strings.ContainsAny(field, ":：=\r\n") {
			if got := MissingFields([]string{field}, text+"\n"+field+": value\n"); got != nil {
				t.Fatalf("field %q still missing after adding a line for it", field)
			}
		}
	})
}
