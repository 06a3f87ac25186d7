-- Whether a relation (the resolved assignments `ab_members` / `ab_unknown`) is defined in a schema of the in-memory database (core/analyses/ab_members.py): a view over its file, or a table when no file could be kept
select count(*) > 0 from (
    select view_name as name from duckdb_views()
    where database_name = 'memory' and schema_name = $schema and view_name = $name
    union all
    select table_name as name from duckdb_tables()
    where database_name = 'memory' and schema_name = $schema and table_name = $name
)
