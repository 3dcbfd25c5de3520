"""Published annual reports: read (HTML, MHTML, Word, PDF, text, web addresses), found by
their official labels, and checked by the same rules as a return (PRODUCT.md, "Published reports")."""
