// DuckDB's side of the lineitem benchmark (see bench/lineitem.c).
//
//   node bench/duckdb_lineitem.mjs N DUCKDB_OUT.parquet FLOE.parquet
//
// Builds the same N rows as bench/lineitem.c from the same formula in SQL
// (not timed), times DuckDB writing them with zstd on one thread, checks that
// floe's file holds exactly these rows with the same column types, then times
// DuckDB scanning every column of both files on one thread. Prints key=value
// lines for bench/run. The formula must stay identical to lineitem.c's.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
// The bench shares tests/interop's pinned npm install.
const require = createRequire(path.join(here, '..', 'tests', 'interop', 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

const [nArg, duckOut, floeFile] = process.argv.slice(2);
if (!nArg || !duckOut || !floeFile || !/^[0-9]+$/.test(nArg)) {
  console.error('usage: duckdb_lineitem.mjs N DUCKDB_OUT.parquet FLOE.parquet');
  process.exit(2);
}
const N = BigInt(nArg);
const lit = (s) => `'${s.replaceAll("'", "''")}'`;
const list = (xs) => `[${xs.map(lit).join(', ')}]`;

const WORDS = [
  'pending', 'regular', 'express', 'special', 'ironic', 'silent', 'careful', 'blithely',
  'slyly', 'quickly', 'fluffily', 'daringly', 'deposits', 'requests', 'accounts', 'packages',
  'pinto', 'beans', 'foxes', 'ideas', 'dolphins', 'courts', 'dugouts', 'sheaves',
  'somas', 'decoys', 'frays', 'tithes', 'waters', 'grouches', 'hockey', 'players',
  'patterns', 'forges', 'braids', 'excuses', 'sleep', 'haggle', 'boost', 'cajole',
  'detect', 'engage', 'maintain', 'print', 'serve', 'solve', 'thrash', 'unwind',
  'affix', 'across', 'around', 'beneath', 'beside', 'besides', 'beyond', 'final',
  'furious', 'dogged', 'enticing', 'quiet', 'ruthless', 'stealthy', 'unusual', 'asleep',
];

const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const run = (sql) => con.run(sql);
const one = async (sql) => (await con.runAndReadAll(sql)).getRowsJson()[0];
const timed = async (sql) => {
  const t0 = process.hrtime.bigint();
  await con.runAndReadAll(sql);
  return Number(process.hrtime.bigint() - t0) / 1e9;
};

// bench_hash(i, s) of lineitem.c. Inputs stay below 2^32 and multipliers
// below 2^31, so BIGINT arithmetic never overflows.
await run(`CREATE MACRO bh_mix(v, k) AS xor((v), (v) >> k)`);
await run(`CREATE MACRO bh(i, s) AS
  bh_mix((bh_mix((((i) + (s) * 1000003) * 2146121005) % 4294967296, 15)
          * 1935289751) % 4294967296, 13)`);
await run(`CREATE MACRO bdec(u) AS CAST(CAST(u AS DECIMAL(15,0)) * 0.01 AS DECIMAL(15,2))`);
await run(`CREATE MACRO bday(d) AS DATE '1970-01-01' + CAST(d AS INTEGER)`);

const W = (s) => `${list(WORDS)}[bh(i, ${s}) % 64 + 1]`;
await run('SET threads = 2');
await run(`CREATE TABLE t AS
  SELECT
    i // 4 + 1 AS l_orderkey,
    bh(i, 1) % 200000 + 1 AS l_partkey,
    bh(i, 2) % 10000 + 1 AS l_suppkey,
    CAST(i % 4 + 1 AS INTEGER) AS l_linenumber,
    bdec(q * 100) AS l_quantity,
    bdec(q * (90000 + bh(i, 4) % 10000000)) AS l_extendedprice,
    bdec(bh(i, 5) % 11) AS l_discount,
    bdec(bh(i, 6) % 9) AS l_tax,
    ${list(['R', 'A', 'N'])}[bh(i, 7) % 3 + 1] AS l_returnflag,
    ${list(['O', 'F'])}[bh(i, 8) % 2 + 1] AS l_linestatus,
    bday(sd) AS l_shipdate,
    bday(sd + bh(i, 10) % 61 - 30) AS l_commitdate,
    bday(sd + 1 + bh(i, 11) % 30) AS l_receiptdate,
    ${list(['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])}[bh(i, 12) % 4 + 1]
      AS l_shipinstruct,
    ${list(['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'])}[bh(i, 13) % 7 + 1]
      AS l_shipmode,
    concat_ws(' ', ${W(15)}, ${W(16)},
              CASE WHEN nw >= 3 THEN ${W(17)} END,
              CASE WHEN nw >= 4 THEN ${W(18)} END) AS l_comment
  FROM (SELECT range AS i, bh(range, 3) % 50 + 1 AS q, 8035 + bh(range, 9) % 2526 AS sd,
               2 + bh(range, 14) % 3 AS nw
        FROM range(${N}))
  ORDER BY i`);

await run('SET threads = 1');
const writeS = await timed(
  `COPY t TO ${lit(duckOut)} (FORMAT parquet, COMPRESSION zstd)`);
console.log(`duckdb_write_s=${writeS.toFixed(3)}`);

// A benchmark of different data is worthless: floe's file must hold exactly
// t's rows (as a multiset) with the same types.
await run('SET threads = 2');
const floeSrc = `read_parquet(${lit(floeFile)})`;
const [floeRows] = await one(`SELECT count(*) FROM ${floeSrc}`);
const typesOf = async (src) =>
  JSON.stringify((await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRowsJson()
    .map((r) => [r[0], r[1]]));
const tTypes = await typesOf('t');
const fTypes = await typesOf(floeSrc);
if (tTypes !== fTypes) {
  console.error(`verify: column types differ\n  duckdb: ${tTypes}\n  floe:   ${fTypes}`);
  process.exit(1);
}
const [missing] = await one(`SELECT count(*) FROM (SELECT * FROM t EXCEPT ALL SELECT * FROM ${floeSrc})`);
const [extra] = await one(`SELECT count(*) FROM (SELECT * FROM ${floeSrc} EXCEPT ALL SELECT * FROM t)`);
if (String(floeRows) !== String(N) || String(missing) !== '0' || String(extra) !== '0') {
  console.error(`verify: floe's file differs: ${floeRows} rows (want ${N}), ` +
    `${missing} rows missing, ${extra} rows extra`);
  process.exit(1);
}
console.log(`verify=ok rows=${N}`);

// Full scans of every column: hashing each value forces every page to be
// decoded (count(*) alone would be answered from the footer).
await run('SET threads = 1');
const scan = (f) => `SELECT bit_xor(hash(COLUMNS(*))) FROM read_parquet(${lit(f)})`;
// Best of three: the first scan also pays for warming caches.
const best = async (sql) => Math.min(await timed(sql), await timed(sql), await timed(sql));
const readDuck = await best(scan(duckOut));
const readFloe = await best(scan(floeFile));
console.log(`duckdb_read_duckdb_s=${readDuck.toFixed(3)} duckdb_read_floe_s=${readFloe.toFixed(3)}`);
