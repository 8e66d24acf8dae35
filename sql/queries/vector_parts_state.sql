-- Whether every vector part holds fixed-size lists (protiso.warehouse.vector_parts): ? = state key.
SELECT value FROM protiso_state WHERE key = ?
