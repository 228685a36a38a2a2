// Package sla keeps the promises of support agreements: business-hour
// calendars (time zone, weekly opening hours, public holidays from
// rickar/cal plus explicit dates and part-day closures), business-time
// arithmetic that is correct across DST, plans with per-priority targets and
// agreements that say which customers a plan covers.
//
// It does no I/O and imports no other package of this project.
package sla
