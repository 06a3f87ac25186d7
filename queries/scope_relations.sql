-- The per-member tables and views a data scope restricts (core/access.py): which of them exist, and where.
select database_name, schema_name, table_name as name from duckdb_tables()
where (database_name = 'cache' and schema_name = 'main') or (database_name = 'memory' and schema_name = 'main')
union all
select database_name, schema_name, view_name as name from duckdb_views()
where database_name = 'memory' and schema_name = 'main' and not internal
