package main

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// metrics are the daemon's Prometheus series, on a registry of its own so
// that tests can run several daemons in one process.
type metrics struct {
	reg            *prometheus.Registry
	received       *prometheus.CounterVec
	dropped        *prometheus.CounterVec
	ticketsCreated prometheus.Counter
	acksQueued     prometheus.Counter
	acksSuppressed *prometheus.CounterVec
	engineerMail   *prometheus.CounterVec
	spoofed        prometheus.Counter
	sends          *prometheus.CounterVec
	imapReconnects prometheus.Counter
	intakeLag      prometheus.Histogram
	// Operations (issue 6).
	acksSent       prometheus.Counter
	intakeFailures prometheus.Counter
	intakeUp       prometheus.Gauge
	reloads        *prometheus.CounterVec
}

func newMetrics(db *store.DB) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "helpdeskd_mails_received_total", Help: "Inbound mails taken in, by kind.",
		}, []string{"kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "helpdeskd_mails_dropped_total", Help: "Inbound mails dropped as ours or a loop, by reason.",
		}, []string{"reason"}),
		ticketsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "helpdeskd_tickets_created_total", Help: "Tickets opened.",
		}),
		acksQueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "helpdeskd_acks_queued_total", Help: "Acknowledgements queued for delivery.",
		}),
		acksSuppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "helpdeskd_acks_suppressed_total", Help: "Acknowledgements not sent, by reason.",
		}, []string{"reason"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "helpdeskd_smtp_sends_total", Help: "Delivery attempts by result (delivered, temporary, permanent) and purpose.",
		}, []string{"result", "purpose"}),
		imapReconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "helpdeskd_imap_reconnects_total", Help: "IMAP connections re-established after a failure.",
		}),
		intakeLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "helpdeskd_intake_lag_seconds",
			Help:    "Time from a mail's Date header to its ticket being committed.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600},
		}),
	}
	m.acksSent = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "helpdeskd_acks_sent_total", Help: "Acknowledgements delivered to the SMTP server.",
	})
	m.intakeFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "helpdeskd_intake_handler_failures_total",
		Help: "Batches intake could not commit to the store (e.g. disk full); their mail stays unseen in IMAP and is retried.",
	})
	m.intakeUp = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "helpdeskd_intake_up", Help: "1 while intake is connected and committing mail, 0 while it reconnects or its commits fail.",
	})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "helpdeskd_config_reloads_total", Help: "Configuration reloads (SIGHUP or helpdeskd reload) by result: applied, rejected.",
	}, []string{"result"})
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "helpdeskd_build_info", Help: "Always 1; the version label says which helpdeskd runs.",
		ConstLabels: prometheus.Labels{"version": version},
	})
	buildInfo.Set(1)
	m.reg.MustRegister(m.acksSent, m.intakeFailures, m.intakeUp, m.reloads, buildInfo)
	m.engineerMail = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "helpdeskd_engineer_mails_total", Help: "Engineer mails by outcome (relayed, note, commands, rejected).",
	}, []string{"outcome"})
	m.spoofed = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "helpdeskd_engineer_spoofed_total", Help: "Mails from an engineer address that failed authentication and were handled as a customer's.",
	})
	m.reg.MustRegister(m.engineerMail, m.spoofed)
	m.reg.MustRegister(m.received, m.dropped, m.ticketsCreated, m.acksQueued, m.acksSuppressed,
		m.sends, m.imapReconnects, m.intakeLag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "helpdeskd_outbox_depth", Help: "Mails waiting in the outbox.",
		}, func() float64 {
			n, _, _ := db.OutboxStats()
			return float64(n)
		}), prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "helpdeskd_outbox_oldest_age_seconds", Help: "Age of the oldest mail waiting in the outbox (0 when empty).",
		}, func() float64 {
			n, oldest, _ := db.OutboxStats()
			if n == 0 || oldest.IsZero() {
				return 0
			}
			return time.Since(oldest).Seconds()
		}))
	}
	return m
}

func (m *metrics) decision(d ticket.Decision) {
	if d.Spoofed != "" {
		m.spoofed.Inc()
	}
	switch d.Action {
	case ticket.ActionRelayed, ticket.ActionNote, ticket.ActionCommands, ticket.ActionRejected:
		m.engineerMail.WithLabelValues(string(d.Action)).Inc()
		return
	case ticket.ActionDropped:
		m.dropped.WithLabelValues(d.Reason).Inc()
		return
	case ticket.ActionDuplicate:
		return
	case ticket.ActionNew:
		m.ticketsCreated.Inc()
	}
	m.received.WithLabelValues(string(d.Kind)).Inc()
	if d.Ack {
		m.acksQueued.Inc()
	}
	if d.AckSuppressed != "" {
		m.acksSuppressed.WithLabelValues(d.AckSuppressed).Inc()
	}
	if d.Lag > 0 {
		m.intakeLag.Observe(d.Lag.Seconds())
	}
}

func (m *metrics) sendResult(env mailer.Envelope, err error) {
	result := "delivered"
	if err != nil {
		result = "permanent"
		if mailer.IsTemporary(err) {
			result = "temporary"
		}
	}
	m.sends.WithLabelValues(result, env.Purpose).Inc()
	if err == nil && env.Purpose == "ack" {
		m.acksSent.Inc()
	}
}

func (m *metrics) intakeEvent(e mailer.IntakeEvent) {
	switch e.Kind {
	case mailer.IntakeReconnect:
		m.imapReconnects.Inc()
		m.intakeUp.Set(0)
	case mailer.IntakeHandlerError:
		m.intakeFailures.Inc()
		m.intakeUp.Set(0)
	case mailer.IntakeChecked: // not on connect: a failing commit would flap it
		m.intakeUp.Set(1)
	}
}

// reloadResult counts a configuration reload.
func (m *metrics) reloadResult(applied bool) {
	if applied {
		m.reloads.WithLabelValues("applied").Inc()
	} else {
		m.reloads.WithLabelValues("rejected").Inc()
	}
}

func (m *metrics) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	return mux
}
