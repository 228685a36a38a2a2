package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// inspection is one line of `helpdeskd inspect` output.
type inspection struct {
	File       string   `json:"file"`
	MessageID  string   `json:"message_id"`
	Subject    string   `json:"subject"`
	From       string   `json:"from"`
	InReplyTo  string   `json:"in_reply_to"`
	References []string `json:"references"`
	Kind       string   `json:"kind"`
	Case       string   `json:"case"`
	TextChars  int      `json:"text_chars"`
	ParseError string   `json:"parse_error"`
}

func newInspectCmd() *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:   "inspect FILE.eml...",
		Short: "Parse mail files and print what helpdeskd sees, one JSON object per line",
		Long: `inspect parses each file as helpdeskd's intake would and prints one JSON
object per file and line: message_id, subject, from, in_reply_to,
references, kind (normal, auto-reply, bounce, list), case (the case tag
found in the subject, or ""), text_chars and parse_error.

The exit status is 0 when every file could be read, whatever the mail
looked like, and 1 when any file could not be read.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			tagger := ticket.NewTagger(prefix)
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			failed := 0
			for _, f := range args {
				raw, err := os.ReadFile(f)
				if err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "helpdeskd inspect: %v\n", err)
					failed++
					continue
				}
				if err := enc.Encode(inspect(f, raw, tagger)); err != nil {
					return err
				}
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d files could not be read", failed, len(args))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", "HD", "case tag prefix to look for")
	return cmd
}

func inspect(file string, raw []byte, tagger *ticket.Tagger) inspection {
	m := mailer.Parse(raw)
	out := inspection{
		File:       file,
		MessageID:  m.MessageID,
		Subject:    m.Subject,
		From:       m.From.Addr,
		InReplyTo:  strings.Join(m.InReplyTo, " "),
		References: m.References,
		Kind:       string(m.Kind),
		TextChars:  utf8.RuneCountInString(m.Text),
		ParseError: m.ParseError,
	}
	if out.References == nil {
		out.References = []string{}
	}
	if n, ok := tagger.Find(m.Subject); ok {
		out.Case = tagger.Case(n)
	}
	return out
}
