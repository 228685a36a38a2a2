// Package ticket is the helpdesk domain: tickets, case numbers and their
// tags, states, and the Desk that routes each inbound mail to a new or
// existing ticket and decides which mails go out in answer.
//
// It defines the Store interface it needs and never imports the store
// package, bbolt or viper; it uses mailer's types, sla and templates.
package ticket
