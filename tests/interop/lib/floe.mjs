// Running the floe CLI (`floe parquet write | cat | meta`).
import { spawnSync } from 'node:child_process';

import { COLUMNS } from './table.mjs';

// Runs floe with args; throws with floe's stderr unless it exits 0.
export function floe(bin, args) {
  const r = spawnSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const e = new Error(`floe ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
    e.status = r.status;
    e.stderr = r.stderr;
    throw e;
  }
  return r.stdout;
}

// The --schema SPEC of the columns: name:type, '!' for required.
export function schemaSpec(cols = COLUMNS) {
  return cols.map((c) => `${c.name}:${c.type}${c.nullable ? '' : '!'}`).join(',');
}

export function floeWrite(bin, csv, out, { codec = 'zstd', pageVersion = 1, rowGroupSize } = {}) {
  const args = ['parquet', 'write', '--schema', schemaSpec(), '--compression', codec,
    '--page-version', String(pageVersion)];
  if (rowGroupSize) args.push('--row-group-size', String(rowGroupSize));
  return floe(bin, [...args, csv, out]);
}

export function floeCat(bin, file, { format = 'csv', columns } = {}) {
  const args = ['parquet', 'cat', '--format', format];
  if (columns) args.push('--columns', columns.join(','));
  return floe(bin, [...args, file]);
}
