// floe reads Iceberg tables: the unit test test_iceberg_scan builds table
// db.events in the warehouse FLOE_DUMP_DIR (two data files, deletion vectors
// with a run of positions and scattered ones, one past the first row group,
// and a DV replaced by a later snapshot). Here an independent reading of
// the same table: avsc decodes the manifest list and manifests, this file
// decodes every DV from the Puffin bytes by the spec (length, magic, CRC-32,
// portable 32-bit roaring bitmaps), DuckDB reads each live data file with
// its row positions, and DuckDB's rows minus the deleted positions must be
// `floe iceberg scan`'s output, row for row. The same over db.model, a
// table test_iceberg_model writes through the table API (see below).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { lit, openDuck } from './lib/duck.mjs';
import { floe } from './lib/floe.mjs';
import { decodeDV, planOf } from './lib/iceberg.mjs';

const BIN = process.env.FLOE_BIN;
assert.ok(BIN, 'set FLOE_BIN to the floe executable (tests/interop/run does)');
const TMP = process.env.INTEROP_TMP ?? fs.mkdtempSync(path.join(os.tmpdir(), 'floe-interop-'));
const WH = path.join(TMP, 'iceberg-wh');
const UNIT = path.join(path.dirname(BIN), 'test_iceberg_scan');

let duck;
before(async () => {
  assert.ok(fs.existsSync(UNIT), `${UNIT} missing: build the unit tests (make)`);
  fs.mkdirSync(WH, { recursive: true });
  const r = spawnSync(UNIT, [], { encoding: 'utf8', env: { ...process.env, FLOE_DUMP_DIR: WH } });
  assert.equal(r.status, 0, `test_iceberg_scan failed:\n${r.stdout}\n${r.stderr}`);
  duck = await openDuck();
});
after(() => duck?.close());

async function check(snapshotId, expectDeleted) {
  const dir = path.join(WH, 'db', 'events');
  const hint = fs.readFileSync(path.join(dir, 'metadata', 'version-hint.text'), 'utf8').trim();
  const md = JSON.parse(fs.readFileSync(path.join(dir, 'metadata', `v${hint}.metadata.json`), 'utf8'));
  const id = snapshotId ?? md['current-snapshot-id'];
  const { data, dvs } = await planOf(md, id);
  assert.equal(data.length, 2);

  const want = [];
  const deletedByFile = {};
  for (const df of data) {
    const dv = dvs.filter((d) => d.referenced_data_file === df.path && d.seq >= df.seq);
    assert.ok(dv.length <= 1, 'one DV per data file');
    let deleted = new Set();
    if (dv.length) {
      const d = dv[0];
      const fd = fs.openSync(d.file_path, 'r');
      const blob = Buffer.alloc(d.content_size_in_bytes);
      fs.readSync(fd, blob, 0, blob.length, d.content_offset);
      fs.closeSync(fd);
      const { positions, runs } = decodeDV(blob);
      assert.equal(positions.length, d.record_count, 'DV cardinality = record_count');
      if (positions.length >= 50) assert.ok(runs > 0, 'the run of positions is a run container');
      deleted = new Set(positions);
    }
    deletedByFile[path.basename(df.path)] = [...deleted].sort((a, b) => a - b);
    const rows = await duck.rows(
      `SELECT CAST(id AS VARCHAR), name, v, file_row_number FROM read_parquet(${lit(df.path)},
         file_row_number = true) ORDER BY file_row_number`);
    assert.equal(rows.length, df.records);
    for (const [rid, name, v, pos] of rows)
      if (!deleted.has(Number(pos))) want.push({ id: rid, name, v });
  }
  assert.deepEqual(deletedByFile, expectDeleted);

  const args = ['iceberg', 'scan', '--format', 'jsonl', WH, 'db.events'];
  if (snapshotId !== undefined) args.push('--snapshot', String(snapshotId));
  const got = floe(BIN, args).trimEnd().split('\n').map((l) => {
    const o = JSON.parse(l);
    return { id: String(o.id), name: o.name, v: o.v };
  });
  assert.equal(got.length, want.length);
  assert.deepEqual(got, want);
}

const range = (a, b) => Array.from({ length: b - a }, (_, i) => a + i);

test('iceberg: current snapshot, DuckDB rows minus the Puffin DVs = floe iceberg scan', async () => {
  await check(undefined, {
    '00003-test.parquet': [2, 3],
    '00000-test.parquet': [0, 5, 7, ...range(100, 150), 600, 999],
  });
});

test('iceberg: time travel to the first DV (snapshot 2)', async () => {
  await check(2, {
    '00003-test.parquet': [],
    '00000-test.parquet': [0, 5, ...range(100, 150), 600, 999],
  });
});

test('iceberg: position 600 lies past the first row group', async () => {
  const file = path.join(WH, 'db', 'events', 'data', '00000-test.parquet');
  const rgs = await duck.rows(
    `SELECT row_group_id, row_group_num_rows FROM parquet_metadata(${lit(file)})
     GROUP BY ALL ORDER BY row_group_id`);
  assert.ok(rgs.length >= 2, 'several row groups');
  assert.ok(Number(rgs[0][1]) <= 600, 'first row group ends before 600');
});

// ---- a table written through floe's table API (table.h) ----
//
// The unit test test_iceberg_model leaves db.model in its own warehouse:
// appends, DVs in several files, updates, file removals, a compaction,
// expired snapshots and an evolved schema (a column added with an
// initial-default, one renamed, int widened to long, one dropped). Each
// data file is read by DuckDB with its own schema; columns are matched by
// Parquet field id to the snapshot's schema, a field missing from a file
// takes its initial-default (else null), deleted positions are dropped.
const WH2 = path.join(TMP, 'iceberg-model-wh');

function loadMd(table) {
  const dir = path.join(WH2, 'db', table);
  const hint = fs.readFileSync(path.join(dir, 'metadata', 'version-hint.text'), 'utf8').trim();
  // ids past 2^53 (random snapshot ids) kept as text
  return JSON.parse(fs.readFileSync(path.join(dir, 'metadata', `v${hint}.metadata.json`), 'utf8')
    .replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}

// floe's JSON lines with every integer kept as text (longs pass 2^53).
function floeRows(args) {
  return floe(BIN, args).trimEnd().split('\n').filter((l) => l).map((l) =>
    JSON.parse(l.replace(/:(-?\d+)([,}])/g, ':"$1"$2')));
}

const text = (v) => (v === null || v === undefined ? null : String(v));

async function checkModel(snapshotId) {
  const md = loadMd('model');
  const id = snapshotId ?? md['current-snapshot-id'];
  const snap = md.snapshots.find((s) => s['snapshot-id'] === id);
  const schemaId = snapshotId === undefined ? md['current-schema-id'] : snap['schema-id'];
  const schema = md.schemas.find((s) => s['schema-id'] === schemaId);
  const { data, dvs } = await planOf(md, id);
  let ndv = 0;
  const want = [];
  for (const df of data) {
    const dv = dvs.filter((d) => d.referenced_data_file === df.path && d.seq >= df.seq);
    assert.ok(dv.length <= 1, 'one DV per data file');
    let deleted = new Set();
    if (dv.length) {
      const d = dv[0];
      const fd = fs.openSync(d.file_path, 'r');
      const blob = Buffer.alloc(d.content_size_in_bytes);
      fs.readSync(fd, blob, 0, blob.length, d.content_offset);
      fs.closeSync(fd);
      const { positions } = decodeDV(blob);
      assert.equal(positions.length, d.record_count, 'DV cardinality = record_count');
      assert.ok(positions.every((p) => p < df.records), 'DV positions inside the file');
      deleted = new Set(positions);
      ndv++;
    }
    // the file's own columns by field id
    const cols = await duck.rows(
      `SELECT name, field_id FROM parquet_schema(${lit(df.path)}) WHERE field_id IS NOT NULL`);
    const byId = new Map(cols.map(([name, fid]) => [Number(fid), name]));
    const sel = schema.fields.filter((f) => byId.has(f.id))
      .map((f) => `CAST("${byId.get(f.id)}" AS VARCHAR)`);
    const rows = await duck.rows(
      `SELECT ${[...sel, 'file_row_number'].join(', ')} FROM read_parquet(${lit(df.path)},
         file_row_number = true) ORDER BY file_row_number`);
    assert.equal(rows.length, df.records);
    for (const r of rows) {
      if (deleted.has(Number(r[r.length - 1]))) continue;
      const o = {};
      let k = 0;
      for (const f of schema.fields)
        o[f.name] = byId.has(f.id) ? text(r[k++]) : text(f['initial-default']);
      want.push(o);
    }
  }
  const args = ['iceberg', 'scan', '--format', 'jsonl', WH2, 'db.model'];
  if (snapshotId !== undefined) args.push('--snapshot', String(snapshotId));
  const got = floeRows(args).map((o) => {
    const m = {};
    for (const f of schema.fields) m[f.name] = text(o[f.name]);
    return m;
  });
  const byIdKey = (a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0);
  want.sort(byIdKey);
  got.sort(byIdKey);
  assert.equal(got.length, want.length);
  assert.deepEqual(got, want);
  return { files: data.length, ndv, schema };
}

test('iceberg model table (table API): current snapshot, DuckDB + DVs = floe iceberg scan', async () => {
  const unit = path.join(path.dirname(BIN), 'test_iceberg_model');
  fs.mkdirSync(WH2, { recursive: true });
  const r = spawnSync(unit, [], { encoding: 'utf8', env: { ...process.env, FLOE_DUMP_DIR: WH2 } });
  assert.equal(r.status, 0, `test_iceberg_model failed:\n${r.stdout}\n${r.stderr}`);
  const { files, ndv, schema } = await checkModel(undefined);
  assert.ok(files >= 3, 'several data files');
  assert.ok(ndv >= 2, 'DVs in several files');
  // the evolved schema: x added (initial-default 7), s renamed, a widened, n dropped
  const f = Object.fromEntries(schema.fields.map((x) => [x.id, x]));
  assert.equal(f[2].type, 'long');
  assert.equal(f[3].name, 'name');
  assert.equal(f[4], undefined);
  assert.equal(f[5]['initial-default'], 7);
  const md = loadMd('model');
  const ops = md.snapshots.map((s) => s.summary.operation);
  assert.ok(ops.includes('replace'), 'a compaction is among the retained snapshots');
});

test('iceberg model table: time travel to the oldest retained snapshot (its own schema)', async () => {
  const md = loadMd('model');
  const oldest = md.snapshots.reduce((a, b) => (a['sequence-number'] < b['sequence-number'] ? a : b));
  assert.notEqual(oldest['schema-id'], md['current-schema-id']);
  await checkModel(oldest['snapshot-id']);
});
