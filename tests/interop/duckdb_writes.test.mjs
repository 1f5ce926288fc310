// DuckDB writes, floe reads: DuckDB loads a CSV covering every floe type,
// writes it as Parquet with each codec (its dictionary pages for few-valued
// columns, PLAIN for the rest) in several row groups, with data page v1 and
// with its v2 format; `floe parquet cat` must print exactly DuckDB's own
// values, as CSV and as JSON lines, also with --columns.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { assertSameTable } from './lib/check.mjs';
import { parseCsv, parseJsonExact } from './lib/data.mjs';
import { csvSelect, duckKey, lit, openDuck, renderExpr } from './lib/duck.mjs';
import { floeCat } from './lib/floe.mjs';
import { keyOfJson, keyOfText, keyOfValue } from './lib/keys.mjs';
import { COLUMNS, makeRows, tableCsv } from './lib/table.mjs';

const BIN = process.env.FLOE_BIN;
assert.ok(BIN, 'set FLOE_BIN to the floe executable (tests/interop/run does)');
const TMP = process.env.INTEROP_TMP ?? fs.mkdtempSync(path.join(os.tmpdir(), 'floe-interop-'));
const N = 5000;
const NAMES = COLUMNS.map((c) => c.name);

const rows = makeRows(N, 2002);
const srcCsv = path.join(TMP, 'duckdb-writes-src.csv');
fs.writeFileSync(srcCsv, tableCsv(rows));

let duck;
let want; // DuckDB's own rendering of its table, as comparison keys
before(async () => {
  duck = await openDuck();
  await duck.run(`CREATE TABLE t AS ${csvSelect(srcCsv, COLUMNS)}`);
  const got = await duck.rows(`SELECT ${COLUMNS.map((c) => renderExpr(c)).join(', ')} FROM t ORDER BY id`);
  want = got.map((r) => r.map((s, k) => duckKey(COLUMNS[k], s)));
});
after(() => duck.close());

// Keys from `floe parquet cat --format csv` output for the columns cols.
function csvKeys(text, cols) {
  const recs = parseCsv(text);
  assert.deepEqual(recs[0].map((f) => f.text), cols.map((c) => c.name), 'csv header');
  return recs.slice(1).map((rec) => rec.map((f, k) => {
    if (!f.quoted && f.text === '') return null; // NULL
    if (cols[k].t.id === 'list') return keyOfJson(cols[k].t, parseJsonExact(f.text));
    return keyOfText(cols[k].t, f.text);
  }));
}

// Keys from `floe parquet cat --format jsonl` output.
function jsonlKeys(text, cols) {
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'jsonl ends with a newline');
  return lines.map((line, i) => {
    const o = parseJsonExact(line);
    assert.deepEqual(Object.keys(o), cols.map((c) => c.name), `jsonl line ${i + 1} keys`);
    return cols.map((c) => keyOfJson(c.t, o[c.name]));
  });
}

test('DuckDB loads the source CSV as generated (checks the harness itself)', () => {
  const gen = rows.map((row) => row.map((v, k) => keyOfValue(COLUMNS[k].t, v)));
  assertSameTable(NAMES, gen, want, 'DuckDB table');
});

const CODECS = ['zstd', 'snappy', 'uncompressed'];

// DuckDB's rendering of the rows of a query, as comparison keys.
async function keysOf(select) {
  const got = await duck.rows(`SELECT ${COLUMNS.map((c) => renderExpr(c)).join(', ')} FROM (${select})`);
  return got.map((r) => r.map((s, k) => duckKey(COLUMNS[k], s)));
}

// Writes select with DuckDB, then checks floe's csv and jsonl of the file.
async function roundTrip(t, name, select, options) {
  const file = path.join(TMP, `${name}.parquet`);
  await duck.run(`COPY (${select}) TO ${lit(file)} (FORMAT parquet, ${options})`);
  const [[groups]] = await duck.rows(`SELECT count(DISTINCT row_group_id) FROM parquet_metadata(${lit(file)})`);
  assert.ok(Number(groups) >= 2, `several row groups (got ${groups})`);
  const encs = await duck.rows(`SELECT DISTINCT encodings FROM parquet_metadata(${lit(file)}) ORDER BY 1`);
  t.diagnostic(`DuckDB's encodings: ${encs.map((r) => r[0]).join(' | ')}`);
  const wantRows = await keysOf(select);
  assertSameTable(NAMES, wantRows, csvKeys(floeCat(BIN, file, { format: 'csv' }), COLUMNS), `${name} csv`);
  assertSameTable(NAMES, wantRows, jsonlKeys(floeCat(BIN, file, { format: 'jsonl' }), COLUMNS), `${name} jsonl`);
}

// DuckDB's v2 files use DataPageV2 with DELTA_BINARY_PACKED (ints),
// DELTA_LENGTH_BYTE_ARRAY (strings), BYTE_STREAM_SPLIT (floats) and
// RLE_DICTIONARY. For INT32 values spanning the whole range DuckDB 1.5.6
// packs deltas in 33 bits, which the spec forbids writers to do ("INT32 data
// must not use more than 32 bits"; its INT64 deltas wrap as they should).
// floe's reader accepts such widths (and wraps to 32 bits). The main v2
// tests halve the INT32 columns so they also cover spec-conforming widths;
// the full-range case has its own test below.
const HALF_INT32 = `SELECT * REPLACE (CAST(c_int32 // 2 AS INTEGER) AS c_int32,
  list_transform(c_list_int, x -> CAST(x // 2 AS INTEGER)) AS c_list_int) FROM t ORDER BY id`;

for (const version of ['V1', 'V2']) {
  for (const codec of CODECS) {
    test(`DuckDB writes ${codec}, PARQUET_VERSION ${version}; floe cat reads it`, async (t) => {
      await roundTrip(t, `duckdb-${codec}-${version}`,
        version === 'V1' ? 'SELECT * FROM t ORDER BY id' : HALF_INT32,
        `COMPRESSION ${codec}, ROW_GROUP_SIZE 1000, PARQUET_VERSION ${version}`);
    });
  }
}

test('floe reads DuckDB v2 INT32 deltas packed in 33 bits (off-spec, but DuckDB writes them)',
  async (t) => {
    await roundTrip(t, 'duckdb-v2-int32-33bit', 'SELECT * FROM t ORDER BY id',
      'COMPRESSION zstd, ROW_GROUP_SIZE 1000, PARQUET_VERSION V2');
  });

test('floe cat --columns projects a DuckDB file, in the order asked', async () => {
  const file = path.join(TMP, 'duckdb-projection.parquet');
  await duck.run(`COPY (SELECT * FROM t ORDER BY id) TO ${lit(file)}
    (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000)`);
  const pick = ['c_list_text', 'id', 'c_binary', 'c_timestamptz', 'c_float32'];
  const cols = pick.map((n) => COLUMNS.find((c) => c.name === n));
  const idx = cols.map((c) => COLUMNS.indexOf(c));
  const wantCols = want.map((r) => idx.map((k) => r[k]));
  assertSameTable(pick, wantCols, csvKeys(floeCat(BIN, file, { format: 'csv', columns: pick }), cols),
    'projected csv');
  assertSameTable(pick, wantCols, jsonlKeys(floeCat(BIN, file, { format: 'jsonl', columns: pick }), cols),
    'projected jsonl');
});
