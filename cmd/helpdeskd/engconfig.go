package main

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/helpdeskd/helpdeskd/templates"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// EngineersConfig is the support team that works tickets by mail.
type EngineersConfig struct {
	// Members are "Name <address>" or bare addresses.
	Members []string `mapstructure:"members" yaml:"members"`
	// Notify get every new ticket and customer follow-up; empty: every member.
	Notify []string `mapstructure:"notify" yaml:"notify"`
	// NotesAddress makes engineer mail sent to it an internal note.
	NotesAddress string `mapstructure:"notes_address" yaml:"notes_address"`
	// Language of mail to engineers; "": languages.default.
	Language string `mapstructure:"language" yaml:"language"`
	// ReopenWindow: a customer reply this long after resolution reopens.
	ReopenWindow time.Duration `mapstructure:"reopen_window" yaml:"reopen_window"`
}

// engineers returns the members as the desk wants them; Validate has
// checked that each parses.
func (e *EngineersConfig) engineers() []ticket.Engineer {
	var out []ticket.Engineer
	for _, m := range e.Members {
		if a, err := mail.ParseAddress(m); err == nil {
			out = append(out, ticket.Engineer{Name: a.Name, Addr: strings.ToLower(a.Address)})
		}
	}
	return out
}

// TrustConfig says how engineer mail is authenticated.
type TrustConfig struct {
	// AuthservID of our own MTA's Authentication-Results; "" trusts the
	// From address alone.
	AuthservID string `mapstructure:"authserv_id" yaml:"authserv_id"`
}

func (e *EngineersConfig) check(c *Config, p *problems) {
	seen := map[string]bool{}
	for i, m := range e.Members {
		key := fmt.Sprintf("engineers.members[%d]", i)
		a, err := mail.ParseAddress(m)
		if err != nil {
			p.add(key, "%q is not an address (%v); write \"Name <name@example.com>\" or the bare address", m, err)
			continue
		}
		addr := strings.ToLower(a.Address)
		if seen[addr] {
			p.add(key, "%s is listed twice", addr)
			continue
		}
		if addr == strings.ToLower(c.Support.Address) || slices.Contains(c.Support.OwnAddresses, addr) {
			p.add(key, "%s is a support address; engineers need their own addresses", addr)
			continue
		}
		seen[addr] = true
	}
	for i, n := range e.Notify {
		bareAddress(p, fmt.Sprintf("engineers.notify[%d]", i), n, true)
	}
	if e.NotesAddress != "" {
		if a, ok := bareAddress(p, "engineers.notes_address", e.NotesAddress, false); ok && strings.EqualFold(a, c.Support.Address) {
			p.add("engineers.notes_address", "must differ from support.address, e.g. \"support+note@example.com\"")
		}
	}
	if e.Language != "" && !slices.Contains(templates.Languages(), e.Language) {
		p.add("engineers.language", "%q is not one of %s", e.Language, strings.Join(templates.Languages(), ", "))
	}
	positive(p, "engineers.reopen_window", e.ReopenWindow, "336h")
}

func (t *TrustConfig) check(_ *Config, p *problems) {
	if strings.ContainsAny(t.AuthservID, " ;\t") {
		p.add("trust.authserv_id", "%q must be the bare authserv-id of your MTA, e.g. \"mx.example.com\"", t.AuthservID)
	}
}
