// Temporary folders for one test file: all under one folder, removed when the file's process exits
// (node --test runs each file in its own process).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = mkdtempSync(join(tmpdir(), 'llm-proxy-test-'));
process.once('exit', () => rmSync(ROOT, { recursive: true, force: true }));

export function tempDir(name: string): string {
  return mkdtempSync(join(ROOT, `${name}-`));
}
