package main

import (
	"math"
	"strings"
	"testing"
)

func TestRuntimeSettings(t *testing.T) {
	tests := []struct {
		name      string
		cfg       RuntimeConfig
		env       map[string]string
		wantGC    int   // -1: left alone
		wantLimit int64 // -1: left alone
		wantLog   string
	}{
		{"defaults of the configuration", RuntimeConfig{GCPercent: defaultGCPercent, MemoryLimit: defaultMemoryLimit}, nil, 400, 64 << 20, "gc_percent 400, memory_limit 64MiB"},
		{"zero values: gc 400, no limit", RuntimeConfig{}, nil, 400, math.MaxInt64, "gc_percent 400, no memory_limit"},
		{"configured", RuntimeConfig{GCPercent: 200, MemoryLimit: 256 * MiB}, nil, 200, 256 << 20, "gc_percent 200, memory_limit 256MiB"},
		{"GOGC in the environment wins", RuntimeConfig{GCPercent: 200}, map[string]string{"GOGC": "150"}, -1, math.MaxInt64, "GOGC=150 from the environment"},
		{"GOMEMLIMIT in the environment wins", RuntimeConfig{MemoryLimit: 256 * MiB}, map[string]string{"GOMEMLIMIT": "1GiB"}, 400, -1, "GOMEMLIMIT=1GiB from the environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := runtimeSettings(tt.cfg, func(k string) string { return tt.env[k] })
			if s.GCPercent != tt.wantGC || s.MemoryLimit != tt.wantLimit {
				t.Errorf("GC percent %d, memory limit %d; want %d, %d", s.GCPercent, s.MemoryLimit, tt.wantGC, tt.wantLimit)
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
