package ticket

import (
	"strings"
	"testing"
	"time"
)

func TestParseCommands(t *testing.T) {
	tests := []struct {
		name     string
		text     string
		want     []string // Name=value
		rest     string
		errCount int
	}{
		{"commands then text", "#status pending\n#priority 2\n\nHello Kari,\nplease reboot.", []string{"status=pending", "priority=2"}, "Hello Kari,\nplease reboot.", 0},
		{"only commands", "#time 1h30m\r\n#assign me\r\n", []string{"time=1h30m0s", "assign=me"}, "", 0},
		{"note", "#note\nCustomer is on the old firmware.", []string{"note="}, "Customer is on the old firmware.", 0},
		{"hash later in the text is text", "Hello,\n#status closed\n", nil, "Hello,\n#status closed\n", 0},
		{"cc add and remove", "#cc add Ola@Customer.example\n#cc remove <per@customer.example>", []string{"cc=ola@customer.example", "cc=-per@customer.example"}, "", 0},
		{"unknown command", "#frobnicate now\nHi", nil, "Hi", 1},
		{"bad priority", "#priority 7", nil, "", 1},
		{"bad status", "#status new", nil, "", 1},
		{"bad time", "#time soon", nil, "", 1},
		{"time too long", "#time 25h", nil, "", 1},
		{"cc without address", "#cc add", nil, "", 1},
		{"time forms", "#time 45\n#time 1:15\n#time 1.5h\n#time 2t", []string{"time=45m0s", "time=1h15m0s", "time=1h30m0s", "time=2h0m0s"}, "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmds, rest, errs := ParseCommands(tc.text)
			var got []string
			for _, c := range cmds {
				v := ""
				switch c.Name {
				case "status":
					v = string(c.State)
				case "priority":
					v = string(rune('0' + c.Priority))
				case "time":
					v = c.Minutes.String()
				case "assign":
					v = c.Args[0]
				case "cc":
					v = c.Address
					if c.Remove {
						v = "-" + v
					}
				}
				got = append(got, c.Name+"="+v)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("commands = %v, want %v", got, tc.want)
			}
			if strings.TrimSpace(rest) != strings.TrimSpace(tc.rest) {
				t.Errorf("rest = %q, want %q", rest, tc.rest)
			}
			if len(errs) != tc.errCount {
				t.Errorf("errors = %v, want %d", errs, tc.errCount)
			}
		})
	}
}

func FuzzParseCommands(f *testing.F) {
	for _, s := range []string{"#status pending\nhi", "#time 1h30m", "#cc add a@b.c", "#note\nx", "#priority 0", "\ufeff#assign me", "#time 99999999999999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cmds, rest, errs := ParseCommands(s)
		for _, c := range cmds {
			switch c.Name {
			case "status":
				if !c.State.Valid() {
					t.Fatalf("invalid state %q accepted", c.State)
				}
			case "priority":
				if c.Priority < 1 || c.Priority > 4 {
					t.Fatalf("priority %d accepted", c.Priority)
				}
			case "time":
				if c.Minutes < time.Minute || c.Minutes > 24*time.Hour {
					t.Fatalf("time %s accepted", c.Minutes)
				}
			case "cc":
				if !strings.Contains(c.Address, "@") {
					t.Fatalf("cc address %q accepted", c.Address)
				}
			case "note", "assign":
			default:
				t.Fatalf("unknown command %q accepted", c.Name)
			}
		}
		if len(rest) > len(s)+1 {
			t.Fatalf("rest longer than input")
		}
		_ = errs
	})
}
