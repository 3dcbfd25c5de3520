"""The Office-file layer: hostile containers kept out, workbooks read fast into a book model,
cell addresses. It knows nothing of the form."""
