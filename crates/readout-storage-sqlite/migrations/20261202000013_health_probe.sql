-- Written (and rolled back) by the health check: a write that reaches the
-- table proves the store is writable, not just lockable.
CREATE TABLE health_probe (id INTEGER PRIMARY KEY);
