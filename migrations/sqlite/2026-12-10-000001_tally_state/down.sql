DROP TABLE tally_state;
