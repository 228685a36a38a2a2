package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliStatus runs the command line through cli (admin_test.go) and splits
// what it printed from its error and exit status.
func cliStatus(args ...string) (out, errText string, code int) {
	out, err := cli(args...)
	if err != nil {
		return out, err.Error(), exitCode(err)
	}
	return out, "", 0
}

func TestInspect(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "reply.eml")
	os.WriteFile(good, []byte("From: Kari <Kari@Customer.example>\r\nSubject: Re: [#HD-000042] Printer\r\nMessage-ID: <m2@customer.example>\r\nIn-Reply-To: <m1@customer.example>\r\nReferences: <m0@customer.example> <m1@customer.example>\r\n\r\nStill broken.\r\n"), 0o644)
	broken := filepath.Join(dir, "broken.eml")
	os.WriteFile(broken, []byte("\x00\xff not a mail at all"), 0o644)

	t.Run("one JSON object per file and line", func(t *testing.T) {
		out, _, code := cliStatus("inspect", good, broken)
		if code != 0 {
			t.Fatalf("exit %d for readable files, whatever they hold", code)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d lines:\n%s", len(lines), out)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"file": good, "message_id": "m2@customer.example", "subject": "Re: [#HD-000042] Printer",
			"from": "kari@customer.example", "in_reply_to": "m1@customer.example", "kind": "normal",
			"case": "HD-000042", "text_chars": float64(len("Still broken.")), "parse_error": "",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %#v, want %#v", k, got[k], v)
			}
		}
		if refs, _ := got["references"].([]any); len(refs) != 2 {
			t.Errorf("references = %v", got["references"])
		}
		var second map[string]any
		if err := json.Unmarshal([]byte(lines[1]), &second); err != nil || second["message_id"] == "" {
			t.Errorf("broken mail line: %s (%v)", lines[1], err)
		}
	})

	t.Run("unreadable file is a non-zero exit", func(t *testing.T) {
		out, _, code := cliStatus("inspect", good, filepath.Join(dir, "missing.eml"))
		if code == 0 || !strings.Contains(out, "missing.eml: no such file") {
			t.Errorf("exit %d, output %q", code, out)
		}
		if !strings.Contains(out, `"message_id":"m2@customer.example"`) {
			t.Errorf("the readable file is not reported:\n%s", out)
		}
	})
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("store:\n  path: \"\"\nimap:\n  pasword: x\n  security: carrier-pigeon\n"), 0o600)
	_, stderr, code := cliStatus("check-config", "-c", bad)
	if code == 0 {
		t.Fatal("invalid configuration accepted")
	}
	if !strings.Contains(stderr, "imap.pasword: unknown key; did you mean imap.password?") {
		t.Errorf("stderr does not name the unknown key:\n%s", stderr)
	}

	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("store:\n  path: "+filepath.Join(dir, "hd.db")+"\nsupport:\n  address: support@example.com\nimap:\n  address: imap.example.com:993\n  username: support@example.com\n  password: secret\nsmtp:\n  address: smtp.example.com:587\n"), 0o600)
	out, stderr, code := cliStatus("check-config", "-c", good)
	if code != 0 || !strings.Contains(out, "configuration is valid") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	out, _, _ = cliStatus("check-config", "-c", good, "--print")
	if strings.Contains(out, "secret") || !strings.Contains(out, "***") {
		t.Errorf("--print leaks or does not redact the password:\n%s", out)
	}
}
