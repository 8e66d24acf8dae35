-- Record the fingerprint of the views just made (definitions and directory): ? = fingerprint.
INSERT OR REPLACE INTO protiso_state VALUES ('views', ?)
