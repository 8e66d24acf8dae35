-- Issue 23: the vector columns of embeddings and residues are stored in their Parquet parts as fixed-size
-- lists (Arrow fixed_size_list<float not null>[d], uncompressed; sql/tables and the views still show FLOAT[]).
-- Parts written before hold variable-length lists: the next writable open rewrites each one in place
-- (protiso/warehouse/vector_parts.py) and then records vector_parts = 'fixed' in protiso_state. This version
-- number keeps older protiso versions, which would write variable-length parts again, from writing here.
DELETE FROM protiso_state WHERE key = 'vector_parts';
