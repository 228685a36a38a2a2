package mailtest

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

const (
	imapUser = "support@example.com"
	imapPass = "secret"
)

var imapMail = []byte("From: a@example.org\r\nTo: support@example.com\r\nSubject: hi\r\n\r\nhello\r\n")

func TestIMAPServerAppendAndInspect(t *testing.T) {
	s := StartIMAP(t, map[string]string{imapUser: imapPass})
	uid, err := s.AppendUID(imapUser, "INBOX", imapMail)
	if err != nil || uid != 1 {
		t.Fatalf("AppendUID = %d, %v; want 1", uid, err)
	}
	if err := s.Append(imapUser, "INBOX", imapMail); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Messages(imapUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].UID != 1 || msgs[1].UID != 2 || !bytes.Equal(msgs[0].Raw, imapMail) || msgs[0].InternalDate.IsZero() {
		t.Fatalf("Messages = %+v", msgs)
	}
	if msgs[0].HasFlag(`\Seen`) {
		t.Error("a new message is \\Seen")
	}
	// Inspecting must not flag anything.
	again, _ := s.Messages(imapUser, "INBOX")
	if again[0].HasFlag(`\Seen`) {
		t.Error("Messages flagged the message \\Seen")
	}
}

func TestIMAPServerClientSeesFlagsAndMailboxes(t *testing.T) {
	s := StartIMAP(t, map[string]string{imapUser: imapPass})
	if err := s.Append(imapUser, "INBOX", imapMail); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateMailbox(imapUser, "Processed"); err != nil {
		t.Fatal(err)
	}
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
	if err := c.Store(imap.UIDSetNum(1), store, nil).Close(); err != nil {
		t.Fatal(err)
	}
	msgs, err := s.Messages(imapUser, "INBOX")
	if err != nil || len(msgs) != 1 || !msgs[0].HasFlag(`\seen`) {
		t.Fatalf("after STORE \\Seen: %+v, %v", msgs, err)
	}
	names, err := s.Mailboxes(imapUser)
	if err != nil || !slices.Equal(names, []string{"INBOX", "Processed"}) {
		t.Fatalf("Mailboxes = %v, %v", names, err)
	}
}

func TestIMAPServerRecreateMailboxChangesUIDValidity(t *testing.T) {
	s := StartIMAP(t, map[string]string{imapUser: imapPass})
	if err := s.Append(imapUser, "INBOX", imapMail); err != nil {
		t.Fatal(err)
	}
	before, err := s.UIDValidity(imapUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RecreateMailbox(imapUser, "INBOX"); err != nil {
		t.Fatal(err)
	}
	after, _ := s.UIDValidity(imapUser, "INBOX")
	msgs, _ := s.Messages(imapUser, "INBOX")
	if after == before || len(msgs) != 0 {
		t.Fatalf("after recreate: UIDVALIDITY %d (was %d), %d messages; want a new one and none", after, before, len(msgs))
	}
}

func TestIMAPServerSecurity(t *testing.T) {
	for _, sec := range []string{"tls", "starttls"} {
		t.Run(sec, func(t *testing.T) {
			s := StartIMAPWith(t, IMAPOptions{Users: map[string]string{imapUser: imapPass}, Security: sec})
			opts := &imapclient.Options{TLSConfig: s.ClientTLSConfig()}
			var c *imapclient.Client
			var err error
			if sec == "tls" {
				c, err = imapclient.DialTLS(s.Addr(), opts)
			} else {
				c, err = imapclient.DialStartTLS(s.Addr(), opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.Login(imapUser, imapPass).Wait(); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("plain_has_no_tls_config", func(t *testing.T) {
		if s := StartIMAP(t, nil); s.ClientTLSConfig() != nil {
			t.Fatal("plain server returned a TLS config")
		}
	})
}

func TestIMAPServerDropConnections(t *testing.T) {
	s := StartIMAP(t, map[string]string{imapUser: imapPass})
	c, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Login(imapUser, imapPass).Wait(); err != nil {
		t.Fatal(err)
	}
	if n := s.Connections(); n != 1 {
		t.Fatalf("Connections = %d, want 1", n)
	}
	if n := s.DropConnections(); n != 1 {
		t.Fatalf("DropConnections = %d, want 1", n)
	}
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("client still connected after DropConnections")
	}
	// The server still accepts new connections.
	c2, err := imapclient.DialInsecure(s.Addr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if err := c2.Login(imapUser, imapPass).Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestIMAPServerRefusesMisuse(t *testing.T) {
	if _, err := NewIMAPServer("0.0.0.0:0", nil); err == nil {
		t.Error("listening on all interfaces was accepted")
	}
	if _, err := StartIMAPServer(IMAPOptions{Security: "ssl"}); err == nil {
		t.Error("unknown security was accepted")
	}
	s := StartIMAP(t, map[string]string{imapUser: imapPass})
	if err := s.Append("nobody", "INBOX", imapMail); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("Append for unknown user = %v, want ErrUnknownUser", err)
	}
	if _, err := s.Messages("nobody", "INBOX"); !errors.Is(err, ErrUnknownUser) {
		t.Errorf("Messages for unknown user = %v, want ErrUnknownUser", err)
	}
	if err := s.Append(imapUser, "Nope", imapMail); err == nil {
		t.Error("Append to a missing mailbox succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}
