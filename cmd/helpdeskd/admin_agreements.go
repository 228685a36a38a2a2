package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The admin API's agreement endpoints (see the table in admin.go): hour
// banks, agreement reports and proactive notices, answered from the
// running daemon's store with the agreements in effect, so that
// `helpdeskd hours|report --agreement|notify` work while the daemon holds
// the database. Mail is queued through the current desk, as the daemon's
// own report service does, and the sender is woken to deliver it.

// maxRequestBytes caps a request body: a notice's text, mostly.
const maxRequestBytes = 1 << 20

// agreementEnv is the daemon's current desk with its options. Reload
// swaps both under d.mu, so they are read together.
func (d *daemon) agreementEnv() *agreementEnv {
	d.mu.Lock()
	o := d.opts.Desk
	desk := d.desk.Load()
	d.mu.Unlock()
	return &agreementEnv{store: d.db, opts: o, desk: desk, queued: d.kickSender}
}

// writeOpError answers a requestError with its status and code, and
// anything else as statusFor says.
func writeOpError(w http.ResponseWriter, err error) {
	var re *requestError
	if errors.As(err, &re) {
		writeJSON(w, re.status(), errorReply{Error: re.msg, Code: re.code})
		return
	}
	writeError(w, statusFor(err), err)
}

// decodeRequest reads a JSON request body into v; unknown fields are
// mistakes, as in the configuration.
func decodeRequest(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return requestErrorf(codeBadRequest, "the request body is not the JSON expected: %v", err)
	}
	return nil
}

// hours is GET /v1/hours?agreement=&period=&at=. Without period: the
// period that contains at (RFC 3339; default now).
func (a *adminServer) hours(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	at := time.Now()
	if s := q.Get("at"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			writeOpError(w, requestErrorf(codeBadRequest, "at=%q is not an RFC 3339 time", s))
			return
		}
		at = t
	}
	u, err := a.d.agreementEnv().hours(q.Get("agreement"), q.Get("period"), at)
	if err != nil {
		writeOpError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, newHoursReply(u))
}

// agreementReport is GET /v1/agreement-report?agreement=&period=&format=:
// format json (default) is agreementReportReply, with its HTML page when
// html=1; text is what `helpdeskd report --agreement … --print` prints;
// csv is the attachment; html the HTML part as a page.
func (a *adminServer) agreementReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	switch format {
	case "", "json", "text", "csv", "html":
	default:
		writeOpError(w, requestErrorf(codeBadRequest, "format=%q is not one of json, text, csv, html", format))
		return
	}
	html := format == "html" || q.Get("html") == "1"
	rep, err := a.d.agreementEnv().agreementReport(q.Get("agreement"), q.Get("period"), html)
	if err != nil {
		writeOpError(w, err)
		return
	}
	switch format {
	case "text":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		printAgreementReport(w, rep)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", rep.Filename))
		w.Write([]byte(rep.CSV))
	case "html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(rep.HTML))
	default:
		writeJSON(w, http.StatusOK, rep)
	}
}

// sendAgreementReport is POST /v1/agreement-report/send with a
// reportSendRequest.
func (a *adminServer) sendAgreementReport(w http.ResponseWriter, r *http.Request) {
	var req reportSendRequest
	if err := decodeRequest(w, r, &req); err != nil {
		writeOpError(w, err)
		return
	}
	rep, err := a.d.agreementEnv().sendReport(req, time.Now())
	if err != nil {
		writeOpError(w, err)
		return
	}
	a.log.Info("agreement report requested over the admin API", "agreement", rep.Agreement, "period", rep.Period,
		"force", req.Force, "sent", rep.Sent, "outbox_ids", rep.Outbox)
	writeJSON(w, http.StatusOK, rep)
}

// notify is POST /v1/notify with a notifyRequest.
func (a *adminServer) notify(w http.ResponseWriter, r *http.Request) {
	var req notifyRequest
	if err := decodeRequest(w, r, &req); err != nil {
		writeOpError(w, err)
		return
	}
	rep, err := a.d.agreementEnv().notify(req, time.Now())
	if err != nil {
		writeOpError(w, err)
		return
	}
	if !req.DryRun {
		cases := make([]string, 0, len(rep.Queued))
		for _, q := range rep.Queued {
			cases = append(cases, q.Case+" "+q.Agreement)
		}
		a.log.Info("proactive notice queued over the admin API", "subject", req.Subject, "cases", strings.Join(cases, ", "))
	}
	writeJSON(w, http.StatusOK, rep)
}
