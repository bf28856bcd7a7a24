// Preloaded by scripts/node-versions.sh under Bun (`bun --preload`): the scenario scripts call
// `gc()`, which Node and Deno have with --expose-gc; Bun's own is `Bun.gc(true)` (a full,
// synchronous collection).
globalThis.gc = () => Bun.gc(true);
