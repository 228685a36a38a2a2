// Package mailtest runs mail servers in process on loopback, for tests and
// for `helpdeskd demo`: an IMAP server whose users and mailboxes live in
// memory (go-imap's imapmemserver) and can be fed and inspected, and an
// SMTP server that records what it receives.
//
// It must not serve real users: everything is kept in memory, passwords
// are compared in clear and listening is restricted to loopback.
//
// Tests and the demo command use it; the daemon itself never does.
package mailtest
