// Package store is the bbolt implementation of ticket.Store: one file holding
// tickets, message history, raw mails, the Message-ID index, the outbox
// queue, intake checkpoints, the SLA deadline index, marks of things done
// once, timers (scheduled jobs such as agreement reports), counters
// (hour bank minutes per period) and the schema version, with online
// backup.
//
// It contains no business rules; it imports ticket (and mailer's types).
package store
