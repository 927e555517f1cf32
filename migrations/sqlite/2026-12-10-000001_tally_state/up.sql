-- The day an organisation's tallies were last brought up to date with who is in post (a recount,
-- or the daily pass that takes out people whose leave date has since arrived). A person whose
-- leave date is after this day and no later than today is still counted: the pass recounts.
CREATE TABLE tally_state (
    organisation_id TEXT PRIMARY KEY NOT NULL REFERENCES organisations (id),
    counted_on TEXT NOT NULL
);
