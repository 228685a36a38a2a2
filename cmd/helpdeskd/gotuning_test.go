package main

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"
)

// restoreRuntime puts the test process's collector settings back.
func restoreRuntime(t *testing.T) {
	gc := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(-1)
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	})
}

func TestApplyRuntime(t *testing.T) {
	tests := []struct {
		name      string
		cfg       RuntimeConfig
		env       map[string]string
		wantGC    int   // what the runtime has after
		wantLimit int64 // what the runtime has after
		wantLog   string
	}{
		{"default: gc 400, no limit", RuntimeConfig{}, nil, 400, math.MaxInt64, "gc_percent 400"},
		{"configured", RuntimeConfig{GCPercent: 200, MemoryLimit: 256 * MiB}, nil, 200, 256 << 20, "gc_percent 200 memory_limit 256MiB"},
		{"GOGC in the environment wins", RuntimeConfig{GCPercent: 200}, map[string]string{"GOGC": "150"}, 100, math.MaxInt64, "GOGC=150 from the environment"},
		{"GOMEMLIMIT in the environment wins", RuntimeConfig{MemoryLimit: 256 * MiB}, map[string]string{"GOMEMLIMIT": "1GiB"}, 400, math.MaxInt64, "GOMEMLIMIT=1GiB from the environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			restoreRuntime(t) // GC 100, no limit: what "left alone" shows
			s := applyRuntime(tt.cfg, func(k string) string { return tt.env[k] }, nil)
			if got := debug.SetGCPercent(-1); got != tt.wantGC {
				t.Errorf("GC percent %d, want %d", got, tt.wantGC)
			}
			if got := debug.SetMemoryLimit(-1); got != tt.wantLimit {
				t.Errorf("memory limit %d, want %d", got, tt.wantLimit)
			}
			if !strings.Contains(s.Source, tt.wantLog) {
				t.Errorf("source %q lacks %q", s.Source, tt.wantLog)
			}
		})
	}
}

func TestRuntimeConfigChecks(t *testing.T) {
	for _, tt := range []struct {
		cfg  RuntimeConfig
		want string
	}{
		{RuntimeConfig{GCPercent: 400}, ""},
		{RuntimeConfig{GCPercent: 10}, "runtime.gc_percent"},
		{RuntimeConfig{GCPercent: -1}, "runtime.gc_percent"},
		{RuntimeConfig{MemoryLimit: MiB}, "runtime.memory_limit"},
		{RuntimeConfig{MemoryLimit: 64 * MiB}, ""},
	} {
		var p problems
		tt.cfg.check(nil, &p)
		got := ""
		if len(p) > 0 {
			got = p[0].Error()
		}
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%+v: problems %v, want one naming %q", tt.cfg, p, tt.want)
		}
	}
}
