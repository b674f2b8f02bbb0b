"""kiemke inventory: the data model, the database and the import/export of what is recorded."""
