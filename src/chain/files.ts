// Files that must survive a crash whole. Lives in the chain layer so the follower (chain) and the
// host's sealed store both use it without the chain layer importing host code.
import { renameSync, writeFileSync } from "node:fs";

/** Replaces `path` with `data` atomically (a crash leaves the old file or the new one, never half). */
export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}
