#!/usr/bin/env node
// Plain JavaScript on purpose: this file must run on any Node to say which one the gateway needs,
// before the TypeScript sources (which need Node's type stripping) are loaded.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 24 || (major === 24 && minor < 16)) {
  console.error(`llm-proxy needs Node.js 24.16 or newer, this is ${process.version}: start it with "npm start", which runs the Node pinned in package.json.`);
  process.exit(1);
}
// Node strips the TypeScript sources' types with a WebAssembly compiler that costs 17 MB per thread
// and a few hundred milliseconds; the compile cache keeps the stripped and compiled modules on disk,
// so that a start after the first loads neither. NODE_COMPILE_CACHE chooses the directory (the
// system's temporary one by default); NODE_DISABLE_COMPILE_CACHE=1 turns it off.
const { enableCompileCache, constants } = await import('node:module');
const cache = enableCompileCache?.();
// worker threads read the directory from the environment
if (cache?.directory && cache.status !== constants.compileCacheStatus.FAILED) process.env.NODE_COMPILE_CACHE = cache.directory;
await import('../src/main.ts');
