package ticket_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// local parses "2006-01-02 15:04[:05]" in zone.
func local(t testing.TB, zoneName, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if strings.Count(s, ":") == 2 {
		layout += ":05"
	}
	at, err := time.ParseInLocation(layout, s, zone(t, zoneName))
	if err != nil {
		t.Fatal(err)
	}
	return at
}

const emtFieldsFilled = `End Customer Name: Acme Corp
System Type: MXone
Host ID: 00-11-22-33
Software Release: 7.2.1
Call Scenario: inbound trunk calls drop after 30 s`

// TestSLAAgreements runs a mail for each agreement of DESIGN.md through the
// Desk and the scheduler with an injected clock, and checks what the
// customer is promised in the answer and when each warning, breach and
// escalation mail goes out, and to whom.
func TestSLAAgreements(t *testing.T) {
	type mail struct{ at, purpose, to string } // at in the case's zone
	tests := []struct {
		name          string
		zone          string
		at            string // arrival, local
		from, subject string
		body          string
		headers       []string
		answer        string   // purpose of the answer: ack or not-covered
		says          []string // the answer's body contains
		saysNot       []string
		plan          string
		prio          int
		until         string // run the scheduler until, local
		mails         []mail
	}{
		{
			name: "Jotron_mail_on_Good_Friday_15:30_is_due_Thursday_after_Easter",
			zone: "Europe/Oslo", at: "2027-03-26 15:30",
			from: customerJotron, subject: "Radio i kontrollrommet svarer ikke",
			answer: "ack", says: []string{"Du får svar fra oss senest torsdag 1. april 2027 kl. 16.00 CEST, innen 3 virkedager."},
			plan: "jotron", prio: 3, until: "2027-04-05 00:00",
			mails: []mail{
				{"2027-04-01 10:00", "sla-warn", leadAddr},
				{"2027-04-01 16:00", "sla-breach", managerAddr}, // at closing time, not next morning
			},
		},
		{
			name: "Jotron_mail_on_23_December_skips_Christmas",
			zone: "Europe/Oslo", at: "2026-12-23 15:30",
			from: customerJotron, subject: "Lisensfil",
			answer: "ack", says: []string{"senest tirsdag 29. desember 2026 kl. 15.30 CET, innen 3 virkedager"},
			plan: "jotron", prio: 3, until: "2027-01-05 00:00",
			mails: []mail{
				{"2026-12-29 09:30", "sla-warn", leadAddr},
				{"2026-12-29 15:30", "sla-breach", managerAddr},
			},
		},
		{
			name: "Telekompetanse_routine_request_on_23_December_ends_at_New_Year's_Eve_noon",
			zone: "Europe/Oslo", at: "2026-12-23 15:30",
			from: customerTeleko, subject: "Rutineforespørsel: ny bruker",
			answer: "ack", says: []string{"senest torsdag 31. desember 2026 kl. 12.00 CET, innen 5 virkedager"},
			plan: "telekompetanse", prio: 3, until: "2027-01-08 00:00",
			mails: []mail{
				{"2026-12-30 11:52:30", "sla-warn", leadAddr}, // 75 % of 32.5 business hours
				{"2026-12-31 12:00", "sla-breach", managerAddr},
			},
		},
		{
			name: "Trinax_Attend!_on_23_December_skips_Julafton_and_Juldagen",
			zone: "Europe/Stockholm", at: "2026-12-23 15:30",
			from: "it@kundb.example", subject: "Hög: nätverket är nere",
			answer: "ack", says: []string{"Du får svar från oss senast måndag 28 december 2026 kl. 14.30 CET, inom 8 arbetstimmar."},
			plan: "trinax-attend", prio: 2, until: "2027-01-05 00:00",
			mails: []mail{
				{"2026-12-28 12:30", "sla-warn", leadAddr},
				{"2026-12-28 14:30", "sla-breach", managerAddr},
			},
		},
		{
			name: "Trinax_Access!_over_Swedish_Easter",
			zone: "Europe/Stockholm", at: "2027-03-25 15:30",
			from: "anna@kundc.example", subject: "Normal: skrivaren skriver ut tomma sidor",
			answer: "ack", says: []string{"senast onsdag 31 mars 2027 kl. 13.30 CEST, inom 16 arbetstimmar"},
			plan: "trinax-access", prio: 3, until: "2027-04-05 00:00",
			mails: []mail{
				{"2027-03-31 09:30", "sla-warn", leadAddr},
				{"2027-03-31 13:30", "sla-breach", managerAddr},
			},
		},
		{
			name: "E-MetroTel_Premium_4h_over_the_North_American_DST_weekend",
			zone: "America/Toronto", at: "2027-03-12 17:30",
			from: "pbx@contoso.example", subject: "Voicemail greetings missing", body: emtFieldsFilled,
			answer: "ack", says: []string{"You will hear from us by Monday 15 March 2027 09:30 EDT, within 4 business hours."},
			saysNot: []string{"please reply with the following"},
			plan:    "emetrotel-premium", prio: 3, until: "2027-03-20 00:00",
			mails: []mail{
				{"2027-03-15 08:30", "sla-warn", leadAddr},
				{"2027-03-15 09:30", "sla-breach", emtManagerAddr},
			},
		},
		{
			name: "E-MetroTel_Premium_Plus_24/7_P1_across_the_spring-forward_gap",
			zone: "America/Toronto", at: "2027-03-14 01:30",
			from: "noc@fabrikam.example", subject: "Emergency – System Down", body: emtFieldsFilled,
			answer: "ack", says: []string{"by Sunday 14 March 2027 04:30 EDT, within 2 business hours"},
			plan: "emetrotel-premium-plus", prio: 1, until: "2027-03-15 00:00",
			mails: []mail{
				{"2027-03-14 04:00", "sla-warn", emtOncallAddr},
				{"2027-03-14 04:30", "sla-breach", emtOncallAddr + "," + emtManagerAddr}, // P1: not held for 9-5
				{"2027-03-14 05:30", "sla-escalate", directorAddr},
			},
		},
		{
			name: "E-MetroTel_missing_required_fields_are_asked_for_and_emergency_is_P1",
			zone: "America/Toronto", at: "2026-12-20 22:00",
			from: "pbx@contoso.example", subject: "Emergency - System Down",
			body:   "End Customer Name: Acme Corp\nHost ID: 00-11-22-33\nSystem Type:\n\nAll trunks are down.",
			answer: "ack",
			says: []string{
				"by Monday 21 December 2026 11:00 EST, within 4 business hours",
				"please reply with the following:\n  - System Type\n  - Software Release\n  - Call Scenario\n",
			},
			saysNot: []string{"Host ID", "End Customer Name"},
			plan:    "emetrotel-premium", prio: 1, until: "2026-12-23 00:00",
			mails: []mail{
				{"2026-12-21 10:00", "sla-warn", leadAddr}, // 16:00 in Oslo; P1 would not wait anyway
				{"2026-12-21 11:00", "sla-breach", emtManagerAddr},
			},
		},
		{
			name: "E-MetroTel_expired_contract_gets_the_not-covered_reply",
			zone: "America/Toronto", at: "2026-03-02 10:00",
			from: "bob@tailspin.example", subject: "PBX drops calls", body: emtFieldsFilled,
			answer: "not-covered", says: []string{"support agreement has expired", "was valid until 31 December 2025"},
			saysNot: []string{"You will hear from us"},
			until:   "2026-04-01 00:00",
		},
		{
			name: "Terso_P1_counts_24/7_across_the_US_spring-forward_gap",
			zone: "America/Chicago", at: "2027-03-14 01:30",
			from: "ops@tersosolutions.com", subject: "Outage: portal down",
			answer: "ack", says: []string{"by Sunday 14 March 2027 03:30 CDT, within 1 business hour"},
			plan: "terso", prio: 1, until: "2027-03-15 00:00",
			mails: []mail{
				{"2027-03-14 03:00", "sla-warn", tersoOncall}, // warn_at 0.5
				{"2027-03-14 03:30", "sla-breach", tersoOncall + "," + leadAddr},
				{"2027-03-14 04:30", "sla-escalate", managerAddr},
				{"2027-03-14 07:30", "sla-escalate", ctoAddr},
			},
		},
		{
			name: "Terso_Friday_request_breach_to_Oslo_waits_for_Oslo_office_hours",
			zone: "America/Chicago", at: "2027-03-19 15:30",
			from: "jim@tersosolutions.com", subject: "Question about invoices",
			answer: "ack", says: []string{"by Monday 22 March 2027 15:30 CDT, within 1 business day"},
			plan: "terso", prio: 3, until: "2027-03-25 00:00",
			mails: []mail{
				{"2027-03-22 11:00", "sla-warn", tersoOncall},
				{"2027-03-22 15:30", "sla-breach", tersoOncall},
				{"2027-03-22 16:30", "sla-escalate", managerAddr},
				{"2027-03-23 02:00", "sla-breach", leadAddr}, // Tuesday 08:00 in Oslo
				{"2027-03-23 10:30", "sla-escalate", ctoAddr},
			},
		},
		{
			name: "sender_without_agreement_gets_the_default_plan",
			zone: "Europe/Oslo", at: "2026-11-23 09:00",
			from: "someone@unknown.example", subject: "Hello",
			answer: "ack", says: []string{"by Thursday 26 November 2026 09:00 CET, within 3 business days"},
			plan: "best-effort", prio: 3, until: "2026-12-10 00:00",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newSLAFixture(t, nil)
			at := local(t, tt.zone, tt.at)
			body := tt.body
			if body == "" {
				body = "Hello,\nthere is a problem.\n"
			}
			dec := f.receive(at, slaMail(tt.from, tt.subject, "m1@customer.example", body, at, tt.headers...))
			if dec.Action != ticket.ActionNew || !dec.Ack {
				t.Fatalf("decision %+v, want a new ticket with an answer", dec)
			}
			answers := f.queued("ack", "not-covered")
			if len(answers) != 1 || answers[0].env.Purpose != tt.answer {
				t.Fatalf("answers %v, want one %s", purposes(answers), tt.answer)
			}
			for _, s := range tt.says {
				if !strings.Contains(answers[0].body, s) {
					t.Errorf("answer lacks %q:\n%s", s, answers[0].body)
				}
			}
			for _, s := range tt.saysNot {
				if strings.Contains(answers[0].body, s) {
					t.Errorf("answer contains %q:\n%s", s, answers[0].body)
				}
			}
			tk := f.ticket(dec.TicketID)
			if tk.SLA == nil || tk.SLA.Plan != tt.plan || (tt.plan != "" && tk.Priority != tt.prio) {
				t.Errorf("ticket SLA %+v, priority %d; want plan %q, priority %d", tk.SLA, tk.Priority, tt.plan, tt.prio)
			}
			if tt.plan == "" && !slices.Contains(tk.Flags, "not-covered") {
				t.Errorf("flags %v, want not-covered", tk.Flags)
			}

			f.runUntil(local(t, tt.zone, tt.until))
			var want []sent
			for _, m := range tt.mails {
				want = append(want, sent{local(t, tt.zone, m.at), m.purpose, m.to})
			}
			if got := f.escalations(); !sameSent(got, want) {
				t.Errorf("escalation mails:\n%s\nwant:\n%s", joinSent(got), joinSent(want))
			}
			if d, ok := f.next(); ok {
				t.Errorf("deadline left after everything fired: %+v", d)
			}
		})
	}
}

func purposes(ms []*outMail) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.env.Purpose)
	}
	return out
}

func sameSent(a, b []sent) bool {
	return slices.EqualFunc(a, b, func(x, y sent) bool { return x.at.Equal(y.at) && x.purpose == y.purpose && x.to == y.to })
}

func joinSent(s []sent) string {
	var lines []string
	for _, x := range s {
		lines = append(lines, "  "+x.String())
	}
	if len(lines) == 0 {
		return "  (none)"
	}
	return strings.Join(lines, "\n")
}
