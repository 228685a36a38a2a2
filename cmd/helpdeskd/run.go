package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/helpdeskd/helpdeskd/mailer"
	"github.com/helpdeskd/helpdeskd/store"
	"github.com/helpdeskd/helpdeskd/ticket"
)

// defaultConfigPath is where run and check-config look without -c.
const defaultConfigPath = "/etc/helpdeskd/helpdeskd.yaml"

func newRunCmd() *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the daemon",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadValid(path)
			if err != nil {
				return err
			}
			// Reload (SIGHUP, `helpdeskd reload`) re-reads path; see reload.go.
			log, level := newReloadableLogger(cfg.Log, cmd.ErrOrStderr())
			o := cfg.daemonOptions(log)
			o.withLog(cfg.Log, level)
			o.reload = configReloader(path, log, level)
			d, err := newDaemon(o)
			if err != nil {
				return explainStartError(err, cfg.Store.Path)
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return d.Run(ctx)
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", defaultConfigPath, "configuration file")
	return cmd
}

func newCheckConfigCmd() *cobra.Command {
	var path string
	var print bool
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Validate a configuration file and report every problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadValid(path)
			if err != nil {
				return err
			}
			if print {
				return printConfig(cmd.OutOrStdout(), cfg.Redacted())
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: configuration is valid\n", path)
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "config", "c", defaultConfigPath, "configuration file")
	cmd.Flags().BoolVar(&print, "print", false, "print the effective configuration, secrets redacted")
	return cmd
}

// loadValid loads and validates a configuration; its error lists every
// problem on its own line under a heading that names the file.
func loadValid(path string) (*Config, error) {
	cfg, err := LoadConfig(path)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("%s: invalid configuration:\n%s", path, indentErrors(err))}
	}
	return cfg, nil
}

// indentErrors puts each joined error on its own indented line.
func indentErrors(err error) string {
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	s := ""
	for i, e := range list {
		if i > 0 {
			s += "\n"
		}
		s += "  " + e.Error()
	}
	return s
}

// daemonOptions maps the validated configuration to each package's Options.
func (c *Config) daemonOptions(log *slog.Logger) daemonOptions {
	rt := c.Runtime
	return daemonOptions{
		Runtime:   &rt,
		StorePath: c.Store.Path,
		Store:     store.Options{LockTimeout: c.Store.LockTimeout},
		Desk: ticket.Options{
			Support:             mailer.Address{Name: c.Support.Name, Addr: c.Support.Address},
			OwnAddresses:        c.Support.OwnAddresses,
			CasePrefix:          c.Support.CasePrefix,
			LoopID:              c.Support.LoopID,
			Hostname:            c.Support.Hostname,
			AckPerSenderPerHour: c.Acks.PerSenderPerHour,
			AckGlobalPerHour:    c.Acks.GlobalPerHour,
			NoReplyPatterns:     c.Acks.NoReplyPatterns,
			DefaultLanguage:     c.Languages.Default,
			LanguageByDomain:    c.Languages.Domains,
			Engineers:           c.Engineers.engineers(),
			NotifyAddresses:     c.Engineers.Notify,
			NotesAddress:        c.Engineers.NotesAddress,
			EngineerLanguage:    c.Engineers.Language,
			ReopenWindow:        c.Engineers.ReopenWindow,
			TrustAuthServID:     c.Trust.AuthservID,
			Agreements:          c.slaAgreements(), // slaconfig.go
			EscalationGroups:    c.slaGroups(),
			NotCoveredReply:     c.SLA.NotCoveredReply,
		},
		Intake: mailer.IntakeOptions{
			Addr:             c.IMAP.Address,
			Security:         mailer.Security(c.IMAP.Security),
			AllowInsecure:    c.IMAP.AllowInsecure,
			Username:         c.IMAP.Username,
			Password:         c.IMAP.Password,
			Mailbox:          c.IMAP.Mailbox,
			ProcessedMailbox: c.IMAP.ProcessedMailbox,
			InitialScan:      mailer.InitialScan(c.IMAP.InitialScan),
			PollInterval:     c.IMAP.PollInterval,
			IdleRefresh:      c.IMAP.IdleRefresh,
			CommandTimeout:   c.IMAP.CommandTimeout,
			MaxSize:          int64(c.IMAP.MaxMessageSize),
			BatchSize:        c.IMAP.BatchSize,
		},
		SMTP: mailer.SMTPOptions{
			Addr:          c.SMTP.Address,
			Security:      mailer.Security(c.SMTP.Security),
			AllowInsecure: c.SMTP.AllowInsecure,
			Username:      c.SMTP.Username,
			Password:      c.SMTP.Password,
			HELO:          c.SMTP.Helo,
			Timeout:       c.SMTP.Timeout,
		},
		Sender: mailer.SenderOptions{
			RetryMin:    c.SMTP.RetryMin,
			RetryMax:    c.SMTP.RetryMax,
			GiveUpAfter: c.SMTP.GiveUpAfter,
		},
		MetricsListen: c.Metrics.Listen,
		Admin:         c.Admin.options(c.Store.Path),
		Logger:        log,
	}
}

// printConfig writes c as YAML, in the shape of the configuration file.
func printConfig(w io.Writer, c *Config) error {
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
