-- Which stored funnel members tables (core/analyses/funnel_table.py) this process holds: schema and name.
select schema_name, table_name from duckdb_tables()
where database_name = 'memory' and table_name like '\_funnel\_%' escape '\'
