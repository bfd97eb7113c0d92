#!/usr/bin/env node
// The `anonify` command: the CLI bundle built by `npm run build`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const bundle = fileURLToPath(new URL("../dist/cli.mjs", import.meta.url));
if (!existsSync(bundle)) {
  console.error("anonify: dist/cli.mjs is missing; run `npm run build` first");
  process.exit(1);
}
await import(bundle);
