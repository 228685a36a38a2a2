package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/helpdeskd/helpdeskd/store"
)

// Exit statuses of `helpdeskd store verify`.
const (
	exitVerifyFailed  = 1 // the file could not be checked (missing, in use, unreadable)
	exitVerifyDamaged = 2 // the file was checked and is damaged
)

func newStoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Work on a database file without the daemon",
	}
	cmd.AddCommand(newStoreVerifyCmd())
	return cmd
}

func newStoreVerifyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "verify FILE",
		Short: "Check every page of a database file, without writing to it",
		Long: `verify reads every page of a helpdeskd database file — a backup, or the
file of a stopped daemon — and checks the bbolt page tree (meta pages,
freelist, every branch and leaf page, every page accounted for) and then
the schema. It never writes to the file.

The daemon checks less at start (meta pages, file length, freelist and the
bucket trees' branch pages), so that it starts in well under a second
whatever the file's size, and then checks every page in the background,
logging "database verified" or "database is damaged".

Exit status: 0 sound, 1 the file could not be checked (missing, or in use
by a running daemon), 2 damaged.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := store.Verify(args[0])
			switch {
			case errors.Is(err, store.ErrCorrupt):
				return &exitError{code: exitVerifyDamaged, err: err}
			case errors.Is(err, store.ErrLocked):
				return &exitError{code: exitVerifyFailed, err: fmt.Errorf("%w\n"+
					"a running daemon holds this file; it checks its file in the background after each start "+
					"(see its log). Verify a backup instead (helpdeskd backup FILE), or stop the daemon first", err)}
			case err != nil:
				return &exitError{code: exitVerifyFailed, err: err}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: sound: schema %d, %d bytes, %d pages of %d bytes (%d free), checked in %s\n",
				args[0], r.Schema, r.Size, r.Pages, r.PageSize, r.Free, r.Took.Round(1e6))
			return nil
		},
	}
}
