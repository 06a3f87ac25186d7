-- Whether a view of this name is registered (e.g. `assignments`, present only when the dataset has the file).
select count(*) > 0 from duckdb_views() where view_name = $view
