package sla

import "errors"

// Sentinel errors; every error this package returns wraps one of them, with
// the offending value and a hint at the fix in the message.
var (
	// ErrInvalidCalendar: a calendar spec has bad hours, closures or zone.
	ErrInvalidCalendar = errors.New("sla: invalid calendar")
	// ErrUnknownHolidaySet: a holiday set name is not one of HolidaySets().
	ErrUnknownHolidaySet = errors.New("sla: unknown holiday set")
	// ErrUnknownCalendar: Builtin was asked for a name it does not know.
	ErrUnknownCalendar = errors.New("sla: unknown built-in calendar")
	// ErrInvalidTarget: a target string such as "4h", "3bd" or "nbd" did not parse.
	ErrInvalidTarget = errors.New("sla: invalid target")
	// ErrInvalidPlan: a plan lacks a calendar or has bad priorities or thresholds.
	ErrInvalidPlan = errors.New("sla: invalid plan")
	// ErrInvalidAgreement: an agreement lacks a plan or customers, or two
	// agreements claim the same customer for overlapping periods.
	ErrInvalidAgreement = errors.New("sla: invalid agreement")
)
