package mailer

import (
	"bufio"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// corpusDir is the shared corpus of real third-party mail (see its
// SOURCES.md), relative to this package's directory.
var corpusDir = filepath.Join("..", "..", "shared", "corpus")

// corpusRow is one line of the corpus's INDEX.tsv.
type corpusRow struct {
	file, kind, messageID, subject, from, inReplyTo, notes string
}

// corpusExceptions lists rows that Parse deliberately does not match, with
// the reason. Keep it tiny; every entry is a known disagreement, not a bug
// to hide.
var corpusExceptions = map[string]string{}

// TestCorpus parses every mail of the shared corpus and checks the fields
// the index asserts: decoded subject, sender address, Message-ID,
// In-Reply-To and kind.
func TestCorpus(t *testing.T) {
	rows := readCorpusIndex(t)
	kinds := map[Kind]int{}
	for _, row := range rows {
		t.Run(row.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(corpusDir, row.file))
			if err != nil {
				t.Fatal(err)
			}
			m := Parse(raw)
			kinds[m.Kind]++
			if reason, ok := corpusExceptions[row.file]; ok {
				t.Skipf("documented exception: %s", reason)
			}

			wantSubject, gotSubject := row.subject, m.Subject
			if strings.Contains(row.notes, "folding") || strings.Contains(row.notes, "CR/LF") {
				wantSubject, gotSubject = collapseSpace(wantSubject), collapseSpace(gotSubject)
			}
			if gotSubject != wantSubject {
				t.Errorf("Subject = %q, want %q", gotSubject, wantSubject)
			}
			if m.From.Addr != row.from {
				t.Errorf("From.Addr = %q, want %q", m.From.Addr, row.from)
			}
			if row.messageID == "" {
				if !m.DerivedID || !strings.HasSuffix(m.MessageID, "@"+derivedIDDomain) {
					t.Errorf("MessageID = %q (derived %v), want a derived ID", m.MessageID, m.DerivedID)
				}
			} else if m.MessageID != row.messageID || m.DerivedID {
				t.Errorf("MessageID = %q (derived %v), want %q", m.MessageID, m.DerivedID, row.messageID)
			}
			if got := strings.Join(m.InReplyTo, " "); got != row.inReplyTo {
				t.Errorf("InReplyTo = %q, want %q", got, row.inReplyTo)
			}
			if row.kind == "malformed" {
				if !slices.Contains([]Kind{KindNormal, KindAutoReply, KindBounce, KindList}, m.Kind) {
					t.Errorf("Kind = %q, not one of the four kinds", m.Kind)
				}
				t.Logf("malformed mail read as %s (%s); ParseError: %s", m.Kind, m.KindReason, m.ParseError)
			} else if string(m.Kind) != row.kind {
				t.Errorf("Kind = %s (%s), want %s", m.Kind, m.KindReason, row.kind)
			}
			if m.BodyHash == "" || m.Size != int64(len(raw)) {
				t.Errorf("BodyHash = %q, Size = %d for %d bytes", m.BodyHash, m.Size, len(raw))
			}
		})
	}
	t.Logf("kinds: %v", kinds)
}

// readCorpusIndex reads INDEX.tsv, skipping the test when the corpus is
// not checked out next to this repository.
func readCorpusIndex(t testing.TB) []corpusRow {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "INDEX.tsv"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("corpus not present at %s", corpusDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []corpusRow
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for first := true; sc.Scan(); first = false {
		if first {
			continue // column names
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 7 {
			t.Fatalf("INDEX.tsv: %d columns in %q", len(cols), sc.Text())
		}
		for i := range cols {
			cols[i] = unescapeCorpusField(cols[i])
		}
		rows = append(rows, corpusRow{cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("INDEX.tsv has no rows")
	}
	return rows
}

// unescapeCorpusField undoes the \t \r \n \\ escapes of INDEX.tsv.
func unescapeCorpusField(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case 't':
				b.WriteByte('\t')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case '\\':
				b.WriteByte('\\')
				i++
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// collapseSpace replaces runs of whitespace by one space and trims.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
