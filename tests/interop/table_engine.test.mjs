// The streaming table engine's Iceberg output, read by an independent
// reader. The unit test test_table_model, run with FLOE_DUMP_DIR, drives the
// engine through its model test on db.wide (a column of every kind, key id)
// and db.nokey (no key: duplicate rows, NaN and -0 among the values), ends
// each run with a crash that leaves applied changes past durable_lsn, and
// writes <table>.expected.json: the model's rows as of durable_lsn, in
// floe's canonical JSON text. Here: the current snapshot's summary must
// record that LSN (floe.source-lsn), avsc decodes the manifests, every
// deletion vector is decoded from its Puffin bytes by the spec, DuckDB reads
// every live data file with its row positions (columns matched by Parquet
// field id), and the live rows must be exactly the expected ones, as a
// multiset (duplicates count).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { parseJsonExact, parseType } from './lib/data.mjs';
import { duckKey, lit, openDuck, renderExpr } from './lib/duck.mjs';
import { planOf, readDV } from './lib/iceberg.mjs';
import { keyOfJson } from './lib/keys.mjs';

const BIN = process.env.FLOE_BIN;
assert.ok(BIN, 'set FLOE_BIN to the floe executable (tests/interop/run does)');
const TMP = process.env.INTEROP_TMP ?? fs.mkdtempSync(path.join(os.tmpdir(), 'floe-interop-'));
const WH = path.join(TMP, 'table-engine-wh');
const UNIT = path.join(path.dirname(BIN), 'test_table_model');

let duck;
before(async () => {
  assert.ok(fs.existsSync(UNIT), `${UNIT} missing: build the unit tests (make)`);
  fs.mkdirSync(WH, { recursive: true });
  const r = spawnSync(UNIT, [], { encoding: 'utf8', env: { ...process.env, FLOE_DUMP_DIR: WH } });
  assert.equal(r.status, 0, `test_table_model (dump) failed:\n${r.stdout}\n${r.stderr}`);
  duck = await openDuck();
});
after(() => duck?.close());

function loadMd(table) {
  const dir = path.join(WH, 'db', table);
  const hint = fs.readFileSync(path.join(dir, 'metadata', 'version-hint.text'), 'utf8').trim();
  // ids past 2^53 (random snapshot ids) kept as text
  return JSON.parse(fs.readFileSync(path.join(dir, 'metadata', `v${hint}.metadata.json`), 'utf8')
    .replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}

// An LSN as Postgres prints it ("16/B374D848") or as a decimal.
function lsnOf(s) {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(s);
  return m ? (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`) : BigInt(s);
}

async function checkTable(name) {
  const exp = parseJsonExact(fs.readFileSync(path.join(WH, `${name}.expected.json`), 'utf8'));
  const cols = exp.columns.map((c) => ({ name: c.name, t: parseType(c.type) }));
  const md = loadMd(name);
  const snap = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
  assert.ok(snap, 'the table has a current snapshot');
  const recorded = snap.summary['floe.source-lsn'];
  assert.ok(recorded !== undefined, 'the snapshot summary records floe.source-lsn');
  assert.equal(lsnOf(recorded), BigInt(exp.durable_lsn), 'floe.source-lsn = durable_lsn');

  const schema = md.schemas.find((s) => s['schema-id'] === md['current-schema-id']);
  const idOf = new Map(schema.fields.map((f) => [f.name, f.id]));
  const { data, dvs } = await planOf(md, snap['snapshot-id']);
  let ndv = 0;
  const got = [];
  for (const df of data) {
    const dv = dvs.filter((d) => d.referenced_data_file === df.path && d.seq >= df.seq);
    assert.ok(dv.length <= 1, 'one DV per data file');
    let deleted = new Set();
    if (dv.length) {
      const { positions } = readDV(dv[0]);
      assert.equal(positions.length, dv[0].record_count, 'DV cardinality = record_count');
      assert.ok(positions.every((p) => p < df.records), 'DV positions inside the file');
      deleted = new Set(positions);
      ndv++;
    }
    // the file's own column names by Parquet field id
    const fileCols = await duck.rows(
      `SELECT name, field_id FROM parquet_schema(${lit(df.path)}) WHERE field_id IS NOT NULL`);
    const byId = new Map(fileCols.map(([n, fid]) => [Number(fid), n]));
    const sel = cols.map((c) => {
      const fname = byId.get(idOf.get(c.name));
      assert.ok(fname !== undefined, `${df.path} has column ${c.name} (field id ${idOf.get(c.name)})`);
      return renderExpr(c, `"${fname.replaceAll('"', '""')}"`);
    });
    const rows = await duck.rows(
      `SELECT ${[...sel, 'file_row_number'].join(', ')} FROM read_parquet(${lit(df.path)},
         file_row_number = true) ORDER BY file_row_number`);
    assert.equal(rows.length, df.records, 'record_count = rows in the file');
    for (const r of rows) {
      if (deleted.has(Number(r[r.length - 1]))) continue;
      got.push(JSON.stringify(cols.map((c, k) => duckKey(c, r[k]))));
    }
  }
  const want = exp.rows.map((row) => JSON.stringify(row.map((cell, k) => keyOfJson(cols[k].t, cell))));
  got.sort();
  want.sort();
  assert.equal(got.length, want.length, `live rows: DuckDB + DVs ${got.length}, model ${want.length}`);
  assert.deepEqual(got, want);
  return { files: data.length, ndv, rows: want.length, distinct: new Set(want).size };
}

test('table engine: db.wide as of durable_lsn, DuckDB + Puffin DVs = the model', async (t) => {
  const { files, ndv, rows } = await checkTable('wide');
  t.diagnostic(`${rows} rows in ${files} data files, ${ndv} with a DV`);
  assert.ok(rows > 0, 'rows survived');
  assert.ok(files >= 2, 'several data files');
  assert.ok(ndv >= 1, 'deletion vectors');
});

test('table engine: db.nokey (duplicates) as of durable_lsn, DuckDB + Puffin DVs = the model', async (t) => {
  const { files, ndv, rows, distinct } = await checkTable('nokey');
  t.diagnostic(`${rows} rows (${distinct} distinct) in ${files} data files, ${ndv} with a DV`);
  assert.ok(rows > 0, 'rows survived');
  assert.ok(distinct < rows, 'duplicate rows among them');
});
