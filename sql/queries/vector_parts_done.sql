-- Every vector part holds fixed-size lists (protiso.warehouse.vector_parts): ? = state key, value.
INSERT OR REPLACE INTO protiso_state VALUES (?, ?)
