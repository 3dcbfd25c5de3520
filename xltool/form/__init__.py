"""The form: its spec (the single source of truth), the layout of its workbook, the rules and
totals with their Excel formulas and evaluation, and the workbook written, filled and read."""
