package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/helpdeskd/helpdeskd/store"
)

// verifyCmd runs `helpdeskd store verify args…` in process and returns
// its exit status and output.
func verifyCmd(t *testing.T, args ...string) (int, string) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"store", "verify"}, args...))
	if err := root.Execute(); err != nil {
		out.WriteString(err.Error())
		return exitCode(err), out.String()
	}
	return 0, out.String()
}

func TestStoreVerify(t *testing.T) {
	dir := t.TempDir()
	sound := filepath.Join(dir, "sound.db")
	b := validStore(t, sound)
	damaged := filepath.Join(dir, "damaged.db")
	if err := os.WriteFile(damaged, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	held := filepath.Join(dir, "held.db")
	if err := os.WriteFile(held, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(held, store.Options{Logger: discardLog, Verify: store.VerifyQuick})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	tests := []struct {
		name string
		file string
		code int
		want []string
	}{
		{"sound_file", sound, 0, []string{sound + ": sound: schema 1", "pages of 4096 bytes"}},
		{"damaged_file", damaged, 2, []string{"verify " + damaged, "database file is corrupt", "truncated", "unchanged"}},
		{"file_in_use", held, 1, []string{"in use", "running daemon", "helpdeskd backup"}},
		{"missing_file", filepath.Join(dir, "missing.db"), 1, []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := os.ReadFile(tt.file)
			code, out := verifyCmd(t, tt.file)
			if code != tt.code {
				t.Errorf("exit status %d, want %d; output:\n%s", code, tt.code, out)
			}
			for _, want := range tt.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if after, _ := os.ReadFile(tt.file); !bytes.Equal(before, after) {
				t.Error("verify changed the file")
			}
		})
	}
}
