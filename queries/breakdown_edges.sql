-- The breakdown bin edges of a column: its 1/8 ... 7/8 quantiles over all users.
select quantile_disc(__value__, [0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875]) from profile
