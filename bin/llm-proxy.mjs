#!/usr/bin/env node
// Plain JavaScript on purpose: this file must run on any Node to say which one the gateway needs,
// before the TypeScript sources (which need Node's type stripping) are loaded.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`llm-proxy needs Node.js 24 or newer, this is ${process.version}: start it with "npm start", which runs the Node pinned in package.json.`);
  process.exit(1);
}
await import('../src/main.ts');
