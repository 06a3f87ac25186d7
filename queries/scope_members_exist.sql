-- Whether a data scope's member table (core/access.py) is already stored in this process.
select count(*) from duckdb_tables()
where database_name = 'memory' and schema_name = $schema and table_name = 'members'
