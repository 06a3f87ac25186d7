-- The columns of a table declared NOT NULL (an export file marks them REQUIRED; a copy written from another engine's rows must too).
select column_name from duckdb_columns() where table_name = $table and not is_nullable order by column_index
