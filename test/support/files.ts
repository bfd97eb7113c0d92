import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Every file under a folder, recursively (tests scan host storage for secrets and plaintext). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}
