-- Parsing: parser configs per data source and as templates, derived
-- variables, time series with roll-ups, compressed raw output.

CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    command_name TEXT NOT NULL,
    parser_json TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

-- NULL parser: the raw output is kept, nothing is parsed. A template, when
-- set, supplies the parser instead.
ALTER TABLE data_sources ADD COLUMN parser_json TEXT;
ALTER TABLE data_sources ADD COLUMN template_id TEXT;

CREATE TABLE derived_variables (
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (host_id, name)
);

-- 0: output stored as sent; 1: raw DEFLATE.
ALTER TABLE command_results ADD COLUMN output_encoding INTEGER NOT NULL DEFAULT 0;
ALTER TABLE command_results ADD COLUMN output_bytes BIGINT NOT NULL DEFAULT 0;
UPDATE command_results SET output_bytes = LENGTH(output);
-- What the parsers could not read in this output: [{variable, message}].
ALTER TABLE command_results ADD COLUMN parse_errors_json TEXT NOT NULL DEFAULT '[]';

ALTER TABLE cycles ADD COLUMN derived_errors_json TEXT NOT NULL DEFAULT '[]';

-- One series per variable of a host, with its latest value.
CREATE TABLE series (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    last_at_ms BIGINT NOT NULL,
    last_value DOUBLE PRECISION,
    last_text TEXT,
    UNIQUE (host_id, name)
);

CREATE TABLE points (
    series_id BIGINT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    at_ms BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (series_id, at_ms)
);

-- Buckets of res_ms (300000, 3600000) starting at bucket_ms.
CREATE TABLE rollups (
    series_id BIGINT NOT NULL REFERENCES series (id) ON DELETE CASCADE,
    res_ms BIGINT NOT NULL,
    bucket_ms BIGINT NOT NULL,
    min DOUBLE PRECISION NOT NULL,
    max DOUBLE PRECISION NOT NULL,
    sum DOUBLE PRECISION NOT NULL,
    count BIGINT NOT NULL,
    last DOUBLE PRECISION NOT NULL,
    last_at_ms BIGINT NOT NULL,
    PRIMARY KEY (series_id, res_ms, bucket_ms)
);
