package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/helpdeskd/helpdeskd/mailer/mailtest"
)

// mailStack is a tiny mail system on loopback for the demo and the
// in-process end-to-end tests: an IMAP server holding every user's mailbox
// and an SMTP server that delivers each accepted mail into the INBOX of
// every recipient who is a local user.
type mailStack struct {
	IMAP  *mailtest.IMAPServer
	SMTP  *mailtest.SMTPServer
	users map[string]string
	log   *slog.Logger
}

// startMailStack starts both servers; addresses "" pick free ports.
func startMailStack(imapAddr, smtpAddr string, users map[string]string, log *slog.Logger) (*mailStack, error) {
	im, err := mailtest.NewIMAPServer(imapAddr, users)
	if err != nil {
		return nil, fmt.Errorf("start IMAP server: %w", err)
	}
	sm, err := mailtest.NewSMTPServer(smtpAddr)
	if err != nil {
		im.Close()
		return nil, fmt.Errorf("start SMTP server: %w", err)
	}
	s := &mailStack{IMAP: im, SMTP: sm, users: users, log: log}
	sm.OnMessage(s.deliver)
	return s, nil
}

func (s *mailStack) deliver(r mailtest.Received) {
	for _, rcpt := range r.To {
		user := strings.ToLower(rcpt)
		if _, ok := s.users[user]; !ok {
			s.log.Warn("mail stack: no such local user, mail not delivered", "rcpt", rcpt)
			continue
		}
		if err := s.IMAP.Append(user, "INBOX", r.Raw); err != nil {
			s.log.Error("mail stack: delivery into IMAP failed", "rcpt", rcpt, "err", err)
		}
	}
}

// Close stops both servers.
func (s *mailStack) Close() {
	s.SMTP.Close()
	s.IMAP.Close()
}
