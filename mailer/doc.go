// Package mailer is in charge of the mail protocols: it takes mail in over
// IMAP (IDLE with a poll fallback, a per-mailbox UID checkpoint, reconnects),
// parses raw RFC 5322 bytes into a normalized Message, classifies it
// (normal, auto-reply, bounce, list), composes outgoing mail and delivers
// queued mail over SMTP with retry and backoff.
//
// It knows nothing about tickets or SLAs and imports no other package of
// this project: the ticket and store packages use its types.
package mailer
