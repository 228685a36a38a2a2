package ticket_test

import (
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/ticket"
)

func TestNoticeOpensOneTicketPerOrganisationAndRepliesThread(t *testing.T) {
	ag := hourBankAgreement(t) // contacts: boss@customer.example
	none := &sla.Agreement{Name: "No contacts", Customers: []string{"other.example"}, Plan: ag.Plan}
	f := newFixture(t, withHourBank(ag))
	var opened []*ticket.Ticket
	if err := f.db.Update(func(tx ticket.Tx) (err error) {
		opened, err = f.desk.SendNotice(tx, ticket.NoticeGroups([]*sla.Agreement{ag, none}), ticket.Notice{Subject: "Maintenance Saturday 02:00–04:00", Body: "The portal is down for maintenance."}, f.clock.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(opened) != 1 || opened[0].Agreement != ag.Name {
		t.Fatalf("opened %d tickets, want one for %s", len(opened), ag.Name)
	}
	notices := byPurpose(f.outbox(t), "notice")
	if len(notices) != 1 || strings.Join(notices[0].env.To, ",") != "boss@customer.example" ||
		notices[0].subject(t) != "[#HD-000001] Maintenance Saturday 02:00–04:00" || notices[0].header.Get("Auto-Submitted") != "" {
		t.Fatalf("notice mails: %d; first to %v, subject %q, Auto-Submitted %q", len(notices), notices[0].env.To, notices[0].subject(t), notices[0].header.Get("Auto-Submitted"))
	}
	// The customer answers without the tag: the reply threads to the notice's ticket.
	dec := f.receive(t, msg("Boss <boss@customer.example>", "Re: Maintenance", "r1@customer.example", "In-Reply-To: "+notices[0].header.Get("Message-Id")))
	if dec.TicketID != opened[0].ID {
		t.Errorf("reply went to ticket %d (%s), want the notice's %d", dec.TicketID, dec.Action, opened[0].ID)
	}
	if err := f.db.Update(func(tx ticket.Tx) error {
		_, err := f.desk.SendNotice(tx, ticket.NoticeGroups([]*sla.Agreement{ag}), ticket.Notice{Subject: " "}, f.clock.Now())
		return err
	}); err == nil {
		t.Error("a notice without subject and body was sent")
	}
}

// One mail per customer organisation: contacts group by domain across the
// chosen agreements, an address named twice gets one mail, and each
// address at a public mail provider is an organisation of its own.
func TestNoticeGroupsByOrganisation(t *testing.T) {
	premium := &sla.Agreement{Name: "Premium", Contacts: []string{"Ops@Contoso.example", "cio@contoso.example"}}
	standard := &sla.Agreement{Name: "Standard", Contacts: []string{"ops@contoso.example", "it@northwind.example"}}
	reseller := &sla.Agreement{Name: "Reseller", Contacts: []string{"noc@reseller.example", "jane.doe@gmail.com", "john@gmail.com"}}
	none := &sla.Agreement{Name: "None"}
	var got []string
	for _, g := range ticket.NoticeGroups([]*sla.Agreement{premium, none, standard, reseller}) {
		got = append(got, g.Organisation+" ("+g.Agreement.Name+"): "+strings.Join(g.To, ","))
	}
	want := []string{
		"contoso.example (Premium): ops@contoso.example,cio@contoso.example",
		"northwind.example (Standard): it@northwind.example",
		"reseller.example (Reseller): noc@reseller.example",
		"jane.doe@gmail.com (Reseller): jane.doe@gmail.com",
		"john@gmail.com (Reseller): john@gmail.com",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("groups:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
