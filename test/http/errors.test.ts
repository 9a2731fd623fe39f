// The error registry and the README's table of errors stay in step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS } from '../../src/http/errors.ts';
import { REPO } from '../helpers/gateway.ts';

test('README documents every error of the registry, with its status and type', () => {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.split('## Errors')[1]!.split('\n## ')[0]!;
  const rows = [...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \| `([a-z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], Number(m[2]), m[3], m[4]]);
  const registry = Object.entries(ERRORS).map(([name, s]) => [name, s.status, s.type, s.doc]);
  assert.deepEqual(rows, registry);
});
