"""The local SQLite store: schema and migrations, encryption, and the tables' owners."""
