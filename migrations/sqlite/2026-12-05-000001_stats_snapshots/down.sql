DROP TABLE stats_snapshots;
