package ticket

import "time"

// rateSlot is the width of one bucket of a RateWindow.
const rateSlot = 5 * time.Minute

// RateWindow counts automatic replies over the last hour in twelve
// five-minute buckets: small and constant in size however many replies it
// counts, so the global cap costs the same at 5 or 5,000 replies an hour.
// It counts what fell in the current bucket and the eleven before it, i.e.
// the last 55 to 60 minutes.
type RateWindow struct {
	Slot   int64      `json:"slot"` // the newest bucket: unix time / rateSlot
	Counts [12]uint32 `json:"counts"`
}

// advance moves the window so that its newest bucket holds now, dropping
// buckets that fell out of the hour.
func (w *RateWindow) advance(now time.Time) {
	slot := now.Unix() / int64(rateSlot/time.Second)
	shift := slot - w.Slot
	switch {
	case shift <= 0:
		return
	case shift >= int64(len(w.Counts)):
		w.Counts = [12]uint32{}
	default:
		copy(w.Counts[:], w.Counts[shift:])
		for i := len(w.Counts) - int(shift); i < len(w.Counts); i++ {
			w.Counts[i] = 0
		}
	}
	w.Slot = slot
}

// Count returns the replies in the window as of now.
func (w *RateWindow) Count(now time.Time) int {
	w.advance(now)
	n := 0
	for _, c := range w.Counts {
		n += int(c)
	}
	return n
}

// Add counts one reply at now.
func (w *RateWindow) Add(now time.Time) {
	w.advance(now)
	w.Counts[len(w.Counts)-1]++
}

// Empty reports whether the window counts nothing.
func (w *RateWindow) Empty() bool { return w.Counts == [12]uint32{} }
