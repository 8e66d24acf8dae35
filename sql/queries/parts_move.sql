-- A part's file has a new path: ? = path, part_id.
UPDATE parts SET path = ? WHERE part_id = ?
