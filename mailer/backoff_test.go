package mailer

import (
	"testing"
	"time"
)

func TestBackoffBound(t *testing.T) {
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		want    time.Duration
	}{
		{"first_retry_is_min", Backoff{Min: time.Second, Max: time.Minute}, 1, time.Second},
		{"doubles", Backoff{Min: time.Second, Max: time.Minute}, 4, 8 * time.Second},
		{"capped_at_max", Backoff{Min: time.Second, Max: time.Minute}, 7, time.Minute},
		{"huge_attempt_does_not_overflow", Backoff{Min: time.Second, Max: time.Minute}, 10_000, time.Minute},
		{"huge_max_does_not_overflow", Backoff{Min: time.Second, Max: 1<<63 - 1}, 200, 1<<63 - 1},
		{"zero_attempt_counts_as_first", Backoff{Min: time.Second, Max: time.Minute}, 0, time.Second},
		{"zero_values_are_1s_and_5m", Backoff{}, 1, time.Second},
		{"zero_max_is_5m", Backoff{}, 100, 5 * time.Minute},
		{"max_below_min_is_min", Backoff{Min: time.Minute, Max: time.Second}, 3, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.Bound(tt.attempt); got != tt.want {
				t.Errorf("Bound(%d) = %v, want %v", tt.attempt, got, tt.want)
			}
		})
	}
}

func TestBackoffDelayIsFullJitter(t *testing.T) {
	b := Backoff{Min: time.Second, Max: time.Minute}
	for _, tt := range []struct {
		name string
		r    float64
		want time.Duration
	}{
		{"lowest_draw_waits_nothing", 0, 0},
		{"middle_draw_waits_half_the_bound", 0.5, 4 * time.Second},
		{"highest_draw_stays_below_the_bound", 0.999, 7992 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b.Rand = func() float64 { return tt.r }
			if got := b.Delay(4); got != tt.want {
				t.Errorf("Delay(4) = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("default_random_stays_within_the_bound", func(t *testing.T) {
		b.Rand = nil
		for range 1000 {
			if d := b.Delay(3); d < 0 || d >= 4*time.Second {
				t.Fatalf("Delay(3) = %v, want in [0, 4s)", d)
			}
		}
	})
}
