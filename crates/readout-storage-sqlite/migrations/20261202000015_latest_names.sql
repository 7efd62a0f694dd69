-- A host's series ids by name beside its latest readings (head.rs
-- `Names`): a cycle reads one row, not one per series. NULL means
-- "rebuild from the series table", which prune asks for by clearing it.
ALTER TABLE latest ADD COLUMN names BLOB;
