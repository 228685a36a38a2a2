package main

import (
	"fmt"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strings"
)

// The Go runtime's garbage collector. helpdeskd keeps little in memory (a
// few MB, also with a million tickets in the store: the scheduler never
// loads them all), while handling mail allocates a lot that dies at once:
// parsing, rendering and composing. At Go's default GOGC=100 the heap
// target is twice that small live heap, so the collector ran every few
// MB allocated and took a quarter of the CPU when the SLA scheduler
// handled a burst of deadlines (BenchmarkScheduler: 90 µs of CPU per
// deadline at GOGC=100, 67 µs at 400). runtime.gc_percent therefore
// defaults to 400, and runtime.memory_limit to 64 MiB: a soft cap, so
// that a burst lets the heap grow to five times the live heap only as
// far as the cap (a burst of 1,024 deadlines peaked near 80 MB without
// it, under 64 MB with it, at the same speed). The cap is soft: a mail
// larger than it allows is still parsed, the collector working harder
// for that moment (a 23 MB mail parsed as fast with the cap as without).
// GOGC and GOMEMLIMIT in the environment win over the configuration, as
// an operator who sets them expects.

// Defaults of runtime.gc_percent and runtime.memory_limit.
const (
	defaultGCPercent   = 400
	defaultMemoryLimit = 64 * MiB
)

// RuntimeConfig tunes the Go runtime.
type RuntimeConfig struct {
	// GCPercent is GOGC: how far the heap may grow past the live heap
	// before a collection, in percent. 0 means defaultGCPercent.
	GCPercent int `mapstructure:"gc_percent" yaml:"gc_percent"`
	// MemoryLimit is GOMEMLIMIT, a soft cap on the Go heap and runtime;
	// 0 means none (the configuration's default is defaultMemoryLimit).
	MemoryLimit ByteSize `mapstructure:"memory_limit" yaml:"memory_limit"`
}

func (r *RuntimeConfig) check(_ *Config, p *problems) {
	if r.GCPercent != 0 && (r.GCPercent < 25 || r.GCPercent > 10000) {
		p.add("runtime.gc_percent", "%d is not between 25 and 10000; 0 means %d", r.GCPercent, defaultGCPercent)
	}
	if r.MemoryLimit != 0 && r.MemoryLimit < 32*MiB {
		p.add("runtime.memory_limit", "%s is below 32MiB, too little even for a quiet daemon; 0 means no limit", r.MemoryLimit)
	}
}

// gcSettings is what the configuration and environment ask of the
// runtime.
type gcSettings struct {
	GCPercent   int    // to set; -1: leave it, GOGC comes from the environment
	MemoryLimit int64  // to set (math.MaxInt64: none); -1: leave it, GOMEMLIMIT decides
	Source      string // what decided, for the log
}

// runtimeSettings works out gcSettings from r and the environment
// (getenv is os.Getenv outside tests).
func runtimeSettings(r RuntimeConfig, getenv func(string) string) gcSettings {
	s := gcSettings{GCPercent: -1, MemoryLimit: -1}
	var from []string
	if v := getenv("GOGC"); v != "" {
		from = append(from, "GOGC="+v+" from the environment")
	} else {
		s.GCPercent = r.GCPercent
		if s.GCPercent == 0 {
			s.GCPercent = defaultGCPercent
		}
		from = append(from, fmt.Sprintf("gc_percent %d", s.GCPercent))
	}
	switch v := getenv("GOMEMLIMIT"); {
	case v != "":
		from = append(from, "GOMEMLIMIT="+v+" from the environment")
	case r.MemoryLimit > 0:
		s.MemoryLimit = int64(r.MemoryLimit)
		from = append(from, "memory_limit "+r.MemoryLimit.String())
	default:
		s.MemoryLimit = math.MaxInt64 // no limit, which is also Go's default
		from = append(from, "no memory_limit")
	}
	s.Source = strings.Join(from, ", ")
	return s
}

// applyRuntimeFromEnv sets the collector's target and memory limit from r,
// leaving either alone when its environment variable is set.
func applyRuntimeFromEnv(r RuntimeConfig, log *slog.Logger) gcSettings {
	s := runtimeSettings(r, os.Getenv)
	if s.GCPercent >= 0 {
		debug.SetGCPercent(s.GCPercent)
	}
	if s.MemoryLimit >= 0 {
		debug.SetMemoryLimit(s.MemoryLimit)
	}
	if log != nil {
		log.Info("go runtime tuned", "gc", s.Source)
	}
	return s
}
