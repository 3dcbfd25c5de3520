"""The coordinator's round: the roster, collected returns, verification, annotated copies,
status and the merge. It builds on the form and the checks; mail and reports build on it."""
