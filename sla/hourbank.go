package sla

import "time"

// CarryOut returns what a period of b passes on to the next one when
// carriedIn hours came into it and used hours were logged in it.
// Carried-in hours are used first and expire with the period, so only the
// unused part of the period's own Hours moves on — never more than Hours,
// and nothing twice:
//
//	CarryOut = max(Hours − max(used − carriedIn, 0), 0)
//
// Without CarryOver it is zero.
func (b HourBank) CarryOut(carriedIn, used time.Duration) time.Duration {
	if !b.CarryOver {
		return 0
	}
	return max(b.Hours-max(used-carriedIn, 0), 0)
}
