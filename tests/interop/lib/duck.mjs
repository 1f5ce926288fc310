// DuckDB as the independent Parquet reader and writer: opening it, loading
// the source CSV into a typed table, and rendering values as floe's text.
import { DuckDBInstance } from '@duckdb/node-api';

import { parseJsonExact } from './data.mjs';
import { keyOfJson, keyOfText } from './keys.mjs';

export async function openDuck() {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  // Render timestamptz in UTC whatever the machine's zone.
  await con.run("SET TimeZone = 'UTC'");
  return {
    run: (sql) => con.run(sql),
    // All rows as arrays of JSON-safe values (BIGINTs as strings).
    rows: async (sql) => (await con.runAndReadAll(sql)).getRowsJson(),
    objects: async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson(),
    close: () => {
      con.closeSync?.();
      inst.closeSync?.();
    },
  };
}

export const q = (name) => `"${name.replaceAll('"', '""')}"`;
export const lit = (s) => `'${s.replaceAll("'", "''")}'`;

function scalarType(t) {
  switch (t.id) {
    case 'bool': return 'BOOLEAN';
    case 'int16': return 'SMALLINT';
    case 'int32': return 'INTEGER';
    case 'int64': return 'BIGINT';
    case 'float32': return 'FLOAT';
    case 'float64': return 'DOUBLE';
    case 'decimal': return `DECIMAL(${t.precision},${t.scale})`;
    case 'utf8': return 'VARCHAR';
    case 'binary': return 'BLOB';
    case 'date': return 'DATE';
    case 'time': return 'TIME';
    case 'timestamp': return 'TIMESTAMP';
    case 'timestamptz': return 'TIMESTAMP WITH TIME ZONE';
    case 'uuid': return 'UUID';
    default: throw new Error(`no DuckDB type for ${t.id}`);
  }
}

// The DuckDB type a floe column maps to (as DESCRIBE prints it).
export function duckType(t) {
  return t.id === 'list' ? `${scalarType(t.elem)}[]` : scalarType(t);
}

// A SQL expression rendering column c as text that keyOfText / keyOfJson
// understand: VARCHAR casts, except binary (\x + lowercase hex, floe's form)
// and lists (JSON).
export function renderExpr(col, src = q(col.name)) {
  switch (col.t.id) {
    case 'binary': return `'\\x' || lower(hex(${src}))`;
    case 'list': return `CAST(to_json(${src}) AS VARCHAR)`;
    default: return `CAST(${src} AS VARCHAR)`;
  }
}

// DuckDB's rendering (from renderExpr) of one cell -> comparison key.
export function duckKey(col, s) {
  if (s === null) return null;
  if (col.t.id === 'list') return keyOfJson(col.t, parseJsonExact(s));
  return keyOfText(col.t, s);
}

// SQL turning a text cell (floe's text form) into the column's DuckDB type.
function castFromText(col, src) {
  switch (col.t.id) {
    case 'binary': return `unhex(substr(${src}, 3))`;
    case 'list': return `CAST(CAST(${src} AS JSON) AS ${duckType(col.t)})`;
    default: return `CAST(${src} AS ${duckType(col.t)})`;
  }
}

// SQL reading our CSV (header line, NULL = empty unquoted field) into typed
// columns, through VARCHAR so DuckDB guesses nothing.
export function csvSelect(csvPath, cols) {
  const spec = cols.map((c) => `${lit(c.name)}: 'VARCHAR'`).join(', ');
  const src = `read_csv(${lit(csvPath)}, header = true, auto_detect = false, delim = ',', ` +
    `quote = '"', escape = '"', allow_quoted_nulls = false, columns = {${spec}})`;
  return `SELECT ${cols.map((c) => `${castFromText(c, q(c.name))} AS ${q(c.name)}`).join(', ')} FROM ${src}`;
}
