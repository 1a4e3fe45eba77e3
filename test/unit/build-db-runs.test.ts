/** build.sqlite's runs table records the render graph; a build folder from before that column resumes. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, it } from 'vitest';
import { executionRecord } from '../../pipeline/models/devices.ts';
import { BuildDb } from '../../pipeline/store/build-db.ts';
import { tempDir } from '../helpers/tmp.ts';

it('adds the render column to a runs table written before it existed; old runs read null', () => {
  const path = join(tempDir(), 'build.sqlite');
  const old = new Database(path);
  old.exec(`CREATE TABLE runs (
    run INTEGER PRIMARY KEY, shard TEXT NOT NULL, provider TEXT NOT NULL, onnxruntime TEXT NOT NULL,
    threads INTEGER NOT NULL, cores INTEGER NOT NULL, cpu TEXT NOT NULL, gpu TEXT, host TEXT NOT NULL,
    pid INTEGER NOT NULL, started_at TEXT NOT NULL)`);
  old.prepare("INSERT INTO runs (shard, provider, onnxruntime, threads, cores, cpu, gpu, host, pid, started_at) VALUES ('0/1', 'cpu', '1.0', 0, 2, 'x', NULL, 'h', 1, 't0')").run();
  old.close();
  const db = new BuildDb(path);
  try {
    db.addRun('0/1', { ...executionRecord('cpu', 2, '1.30.0'), render: 'nchwc (block 8): the CPU default' }, 't1');
    expect(db.runs().map((r) => [r.startedAt, r.render])).toEqual([
      ['t0', null],
      ['t1', 'nchwc (block 8): the CPU default'],
    ]);
  } finally {
    db.close();
  }
});
