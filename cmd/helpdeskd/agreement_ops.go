package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/sla"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// The agreement operations behind `helpdeskd hours`, `report --agreement`
// and `notify`. They run on an agreementEnv: in the daemon, for the admin
// API, on its open store with the desk and agreements in effect (a reload
// may have changed them); in the CLI, with the daemon stopped or on a
// backup (--file), on the database file with the configuration's. Both
// paths return the same reply values and the commands print those with
// the same code, so the output does not tell the paths apart.

// agreementEnv is what the operations need.
type agreementEnv struct {
	store ticket.Store
	// opts are the desk's options: Agreements, DefaultLanguage and
	// Support.Name are read.
	opts ticket.Options
	// desk queues mail. Nil: the store is a copy (--file) and nothing may
	// be queued in it.
	desk *ticket.Desk
	// queued, when set, runs after mail was committed to the outbox (the
	// daemon wakes its sender).
	queued func()
}

// requestError is a mistake in what was asked (an unknown agreement, a
// bad period, nobody to mail), as opposed to a failure of the store or of
// rendering: the admin API answers it with a 4xx status and its code, and
// the CLI prints the message and exits with the same status whichever
// path ran.
type requestError struct {
	code string // one of requestCodes
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func requestErrorf(code, format string, args ...any) error {
	return &requestError{code: code, msg: fmt.Sprintf(format, args...)}
}

// Codes of requestError, as the admin API's errorReply.Code.
const (
	codeBadRequest       = "bad-request"
	codeUnknownAgreement = "unknown-agreement"
	codeBadPeriod        = "bad-period"
	codeNoHourBank       = "no-hour-bank"
	codeNoRecipients     = "no-recipients"
	codeReadOnly         = "read-only"
)

// requestCodes maps a code to its HTTP status and the CLI's exit status:
// 2 for what the command line got wrong (as usageError), 1 for what the
// configuration lacks.
var requestCodes = map[string]struct{ status, exit int }{
	codeBadRequest:       {http.StatusBadRequest, 2},
	codeUnknownAgreement: {http.StatusNotFound, 2},
	codeBadPeriod:        {http.StatusBadRequest, 2},
	codeNoHourBank:       {http.StatusUnprocessableEntity, 1},
	codeNoRecipients:     {http.StatusUnprocessableEntity, 1},
	codeReadOnly:         {http.StatusConflict, 2},
}

func (e *requestError) status() int {
	if c, ok := requestCodes[e.code]; ok {
		return c.status
	}
	return http.StatusBadRequest
}

// cliError gives a requestError its exit status; other errors pass.
func cliError(err error) error {
	if re, ok := err.(*requestError); ok {
		code := 1
		if c, ok := requestCodes[re.code]; ok {
			code = c.exit
		}
		return &exitError{code: code, err: re}
	}
	return err
}

// findAgreement finds an agreement of idx (or its default) by name.
func findAgreement(idx *sla.Agreements, name string) (*sla.Agreement, error) {
	if name == "" {
		return nil, requestErrorf(codeBadRequest, "name an agreement of the configuration")
	}
	var names []string
	if idx != nil {
		for _, ag := range append(slices.Clone(idx.All()), idx.Default()) {
			if ag == nil {
				continue
			}
			if ag.Name == name {
				return ag, nil
			}
			names = append(names, fmt.Sprintf("%q", ag.Name))
		}
	}
	if len(names) == 0 {
		return nil, requestErrorf(codeUnknownAgreement, "no agreement %q: the configuration has no agreements", name)
	}
	return nil, requestErrorf(codeUnknownAgreement, "no agreement %q; the configuration has %v", name, names)
}

func (e *agreementEnv) agreement(name string) (*sla.Agreement, error) {
	return findAgreement(e.opts.Agreements, name)
}

// period checks a period label against ag's zone and returns it in its
// canonical form ("2026-q3" → "2026-Q3") with its length.
func period(ag *sla.Agreement, label string) (string, sla.Period, error) {
	if strings.TrimSpace(label) == "" {
		return "", "", requestErrorf(codeBadPeriod, "name a period: 2026-03, 2026-Q3 or 2026")
	}
	per, start, _, err := sla.ParsePeriod(label, ag.Location())
	if err != nil {
		return "", "", requestErrorf(codeBadPeriod, "agreement %q: %v", ag.Name, err)
	}
	return per.Label(start), per, nil
}

// hours returns the use of an agreement's hour bank in the period label
// names, or, with label "", in the period that contains at. The checks
// here are those ticket.HourBankPeriod makes, done first so that a
// mistake is told from a failure of the store.
func (e *agreementEnv) hours(name, label string, at time.Time) (ticket.HourUse, error) {
	ag, err := e.agreement(name)
	if err != nil {
		return ticket.HourUse{}, err
	}
	if ag.HourBank.Per == "" {
		return ticket.HourUse{}, requestErrorf(codeNoHourBank, "hour bank: agreement %q has none", ag.Name)
	}
	if label != "" {
		canon, per, err := period(ag, label)
		if err != nil {
			return ticket.HourUse{}, err
		}
		if per != ag.HourBank.Per {
			return ticket.HourUse{}, requestErrorf(codeBadPeriod, "hour bank of %q is per %s; %q is a %s", ag.Name, ag.HourBank.Per, label, per)
		}
		label = canon
	}
	var u ticket.HourUse
	err = e.store.View(func(tx ticket.Tx) (err error) {
		if label == "" {
			u, err = ticket.HourBankAt(tx, ag, at)
		} else {
			u, err = ticket.HourBankPeriod(tx, ag, label)
		}
		return err
	})
	return u, err
}

// hoursReply is GET /v1/hours. JSON keeps a time's offset but not its
// zone, and the hour bank's period is printed in the agreement's zone:
// Zone names it.
type hoursReply struct {
	Use  ticket.HourUse `json:"use"`
	Zone string         `json:"zone"`
}

func newHoursReply(u ticket.HourUse) hoursReply {
	return hoursReply{Use: u, Zone: u.Start.Location().String()}
}

// use returns the hour bank's use with its period back in its zone.
func (r hoursReply) use() ticket.HourUse {
	u := r.Use
	if loc, err := time.LoadLocation(r.Zone); err == nil {
		u.Start, u.End = u.Start.In(loc), u.End.In(loc)
	}
	return u
}

// agreementReportReply is GET /v1/agreement-report: the report mail as
// the contacts would get it (subject, text, CSV attachment) and the
// figures it was made from.
type agreementReportReply struct {
	Agreement string `json:"agreement"`
	Period    string `json:"period"`
	Language  string `json:"language"`
	Subject   string `json:"subject"`
	Body      string `json:"body"`
	Filename  string `json:"filename"`
	CSV       string `json:"csv"`
	// HTML, when asked for, is the report's HTML part as a page of its
	// own: its chart inline as a data: URI, so that a browser shows it.
	HTML   string                  `json:"html,omitempty"`
	Report *ticket.AgreementReport `json:"report"`
}

// agreementReport renders an agreement's report for a period, with its
// HTML part when html is set.
func (e *agreementEnv) agreementReport(name, label string, html bool) (*agreementReportReply, error) {
	ag, err := e.agreement(name)
	if err != nil {
		return nil, err
	}
	if label, _, err = period(ag, label); err != nil {
		return nil, err
	}
	var rep *ticket.AgreementReport
	if err := e.store.View(func(tx ticket.Tx) (err error) {
		rep, err = ticket.BuildAgreementReport(tx, ag, label)
		return err
	}); err != nil {
		return nil, err
	}
	lang := nonEmptyString(ag.Language, e.opts.DefaultLanguage, "en") // the desk's defaults
	text, csv, err := ticket.RenderReport(rep, lang, e.opts.Support.Name)
	if err != nil {
		return nil, err
	}
	reply := &agreementReportReply{
		Agreement: ag.Name, Period: rep.Label, Language: lang, Subject: text.Subject, Body: text.Body,
		Filename: reportFileName(rep), CSV: string(csv), Report: rep,
	}
	if html {
		page, inline, err := ticket.RenderReportHTML(rep, lang, e.opts.Support.Name)
		if err != nil {
			return nil, err
		}
		reply.HTML = inlineImages(page, inline)
	}
	return reply, nil
}

// inlineImages replaces an HTML part's cid: references, which only a mail
// client resolves, by data: URIs of the parts they name.
func inlineImages(page string, parts []mailer.OutAttachment) string {
	for _, p := range parts {
		page = strings.ReplaceAll(page, "cid:"+p.ContentID, "data:"+p.ContentType+";base64,"+base64.StdEncoding.EncodeToString(p.Data))
	}
	return page
}

// reportSendRequest is the body of POST /v1/agreement-report/send. Force
// sends a report that was sent before (the CLI's --send always does: the
// operator asked for it); without it such a report is not sent again.
type reportSendRequest struct {
	Agreement string `json:"agreement"`
	Period    string `json:"period"`
	Force     bool   `json:"force,omitempty"`
}

// reportSendReply says what was queued.
type reportSendReply struct {
	Agreement string `json:"agreement"`
	Period    string `json:"period"`
	// Sent is false when the report went out before and Force was not set.
	Sent   bool     `json:"sent"`
	To     []string `json:"to,omitempty"`
	Outbox []uint64 `json:"outbox,omitempty"` // IDs of the queued mail
}

// sendReport queues an agreement's report through the desk, as the
// daemon's report service does.
func (e *agreementEnv) sendReport(req reportSendRequest, now time.Time) (*reportSendReply, error) {
	if e.desk == nil {
		return nil, errReadOnlyCopy
	}
	ag, err := e.agreement(req.Agreement)
	if err != nil {
		return nil, err
	}
	label, _, err := period(ag, req.Period)
	if err != nil {
		return nil, err
	}
	if len(ag.ReportRecipients()) == 0 {
		return nil, requestErrorf(codeNoRecipients, "report of %q: the agreement has nobody to send it to; add contacts to it in the configuration", ag.Name)
	}
	rep := &reportSendReply{Agreement: ag.Name, Period: label}
	err = e.desk.Update(func(tx ticket.Tx) error {
		qt := &queueingTx{Tx: tx}
		sent, err := e.desk.SendReport(qt, ag, label, now, req.Force)
		rep.Sent = sent
		for _, env := range qt.queued {
			rep.To = append(rep.To, env.To...)
			rep.Outbox = append(rep.Outbox, env.ID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if rep.Sent && e.queued != nil {
		e.queued()
	}
	return rep, nil
}

// errReadOnlyCopy refuses to queue mail in a copy of the database.
var errReadOnlyCopy = requestErrorf(codeReadOnly, "--file reads a copy of the database (a backup), which is not the live desk: "+
	"mail queued there would never be sent; leave out --file, and the command goes through the running daemon (or, with the daemon stopped, its database file)")

// notifyRequest is the body of POST /v1/notify: a proactive notice to
// the contacts of the named agreements, or of all that have contacts.
type notifyRequest struct {
	Agreements []string `json:"agreements,omitempty"`
	All        bool     `json:"all,omitempty"`
	Subject    string   `json:"subject"`
	Body       string   `json:"body"`
	// DryRun lists the recipients and queues nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// notifyReply lists who gets the notice and, unless it was a dry run,
// the tickets opened for it.
type notifyReply struct {
	Recipients []noticeRecipients `json:"recipients"`
	Queued     []noticeQueued     `json:"queued"`
}

// noticeRecipients is one customer organisation (see ticket.NoticeGroups).
type noticeRecipients struct {
	Organisation string   `json:"organisation"`
	Agreement    string   `json:"agreement"`
	To           []string `json:"to"`
}

type noticeQueued struct {
	Case         string   `json:"case"`
	Organisation string   `json:"organisation"`
	Agreement    string   `json:"agreement"`
	To           []string `json:"to"`
	Outbox       uint64   `json:"outbox"`
}

// maxNoticeBody is the largest notice text: a notice is a few
// paragraphs, and the admin API takes requests of up to 1 MiB.
const maxNoticeBody = 256 << 10

// checkNoticeBody refuses a notice text that customers could not read:
// not UTF-8 (a file saved as Latin-1 would reach them garbled), or too
// long for a notice (a wrong file).
func checkNoticeBody(body string) error {
	if len(body) > maxNoticeBody {
		return requestErrorf(codeBadRequest, "the notice text is %d KiB; a notice is at most %d KiB of text (is --body-file the right file?)", len(body)>>10, maxNoticeBody>>10)
	}
	if !utf8.ValidString(body) {
		return requestErrorf(codeBadRequest, "the notice text is not UTF-8; save --body-file as UTF-8 (e.g. iconv -f latin1 -t utf-8)")
	}
	return nil
}

// notify sends a proactive notice through the desk: one ticket and one
// mail per customer organisation.
func (e *agreementEnv) notify(req notifyRequest, now time.Time) (*notifyReply, error) {
	if req.All == (len(req.Agreements) > 0) {
		return nil, requestErrorf(codeBadRequest, "name the agreements, or all of them, not both")
	}
	if strings.TrimSpace(req.Subject) == "" || strings.TrimSpace(req.Body) == "" {
		return nil, requestErrorf(codeBadRequest, "a notice needs a subject and a body")
	}
	if err := checkNoticeBody(req.Body); err != nil {
		return nil, err
	}
	var ags []*sla.Agreement
	if req.All {
		if e.opts.Agreements != nil {
			ags = e.opts.Agreements.All()
		}
	} else {
		for _, name := range req.Agreements {
			ag, err := e.agreement(name)
			if err != nil {
				return nil, err
			}
			ags = append(ags, ag)
		}
	}
	rep := &notifyReply{Recipients: []noticeRecipients{}, Queued: []noticeQueued{}}
	if !req.All {
		for _, ag := range ags {
			if len(ag.Contacts) == 0 {
				return nil, requestErrorf(codeNoRecipients, "agreement %q has no contacts; add contacts to it in the configuration", ag.Name)
			}
		}
	}
	groups := ticket.NoticeGroups(ags)
	for _, g := range groups {
		rep.Recipients = append(rep.Recipients, noticeRecipients{Organisation: g.Organisation, Agreement: g.Agreement.Name, To: g.To})
	}
	if len(groups) == 0 {
		return nil, requestErrorf(codeNoRecipients, "no agreement has contacts; add contacts to the agreements in the configuration")
	}
	if req.DryRun {
		return rep, nil
	}
	if e.desk == nil {
		return nil, errReadOnlyCopy
	}
	err := e.desk.Update(func(tx ticket.Tx) error {
		qt := &queueingTx{Tx: tx}
		opened, err := e.desk.SendNotice(qt, groups, ticket.Notice{Subject: req.Subject, Body: req.Body}, now)
		if err != nil {
			return err
		}
		for i, t := range opened {
			q := noticeQueued{Case: t.Case, Organisation: groups[i].Organisation, Agreement: t.Agreement}
			for _, env := range qt.queued {
				if env.Case == t.Case {
					q.To, q.Outbox = env.To, env.ID
				}
			}
			rep.Queued = append(rep.Queued, q)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if e.queued != nil {
		e.queued()
	}
	return rep, nil
}

// queueingTx is a Tx that remembers the mail queued through it, so that
// a reply can say who gets what while the ticket package alone decides
// the recipients.
type queueingTx struct {
	ticket.Tx
	queued []*mailer.Envelope
}

func (t *queueingTx) Enqueue(env *mailer.Envelope) error {
	if err := t.Tx.Enqueue(env); err != nil {
		return err
	}
	t.queued = append(t.queued, env)
	return nil
}

// nonEmptyString returns the first of list that is not empty.
func nonEmptyString(list ...string) string {
	for _, s := range list {
		if s != "" {
			return s
		}
	}
	return ""
}
