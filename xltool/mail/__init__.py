"""Mail at the edge of the round: send the workbooks, collect the returns, remind the late.

Chinese mail clients name attachments every way the standards allow and several they do not;
`mime` reads them all and writes the forms they all read. `sources` turns an mbox, a Maildir, a
folder or an IMAP mailbox into raw messages; `collect` files the returns by their own metadata
and records everything in a manifest (`manifest.current_returns` is the API for the commands
that read a collected folder); `send` and `remind` compose and deliver, resumable after a crash.
"""
