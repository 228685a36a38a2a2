package main

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/helpdeskd/helpdeskd/ticket"
)

// slaMetrics are the SLA scheduler's series.
type slaMetrics struct {
	warnings prometheus.Counter
	breaches prometheus.Counter
}

// newSLAMetrics registers the SLA series on reg; next reports the
// scheduler's earliest deadline.
func newSLAMetrics(reg *prometheus.Registry, next func() (time.Time, bool)) *slaMetrics {
	m := &slaMetrics{
		warnings: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "helpdeskd_sla_warnings_total", Help: "SLA warnings fired: a promise has used its warn share of business time.",
		}),
		breaches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "helpdeskd_sla_breaches_total", Help: "SLA promises broken.",
		}),
	}
	reg.MustRegister(m.warnings, m.breaches, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "helpdeskd_scheduler_next_due_seconds",
		Help: "Seconds until the SLA scheduler's next deadline (negative when overdue); -1 when there is none.",
	}, func() float64 {
		at, ok := next()
		if !ok {
			return -1
		}
		return time.Until(at).Seconds()
	}))
	return m
}

// fired counts what a scheduler batch fired.
func (m *slaMetrics) fired(fs []ticket.Fired) {
	for _, f := range fs {
		switch f.Kind {
		case ticket.DeadlineWarn:
			m.warnings.Inc()
		case ticket.DeadlineBreach:
			m.breaches.Inc()
		}
	}
}
