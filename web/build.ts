// Builds the web wallet and explorer (web/) with Vite into static files, dist/web, that every node
// serves at `/`: everything bundled, nothing fetched from elsewhere at run time. Reports the gzipped
// size, the figure that matters for a page loaded over a network.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "vite";

const webRoot = fileURLToPath(new URL(".", import.meta.url));
export const WEB_OUT_DIR = fileURLToPath(new URL("../dist/web/", import.meta.url));

const filesUnder = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });

/** Bytes of every file of the built page, raw and gzipped. */
export function webSize(dir = WEB_OUT_DIR): { bytes: number; gzipped: number } {
  let bytes = 0;
  let gzipped = 0;
  for (const file of filesUnder(dir)) {
    const content = readFileSync(file);
    bytes += content.length;
    gzipped += gzipSync(content, { level: 9 }).length;
  }
  return { bytes, gzipped };
}

export async function buildWeb(): Promise<{ bytes: number; gzipped: number }> {
  await build({
    root: webRoot,
    base: "./",
    configFile: false,
    logLevel: "warn",
    build: { outDir: WEB_OUT_DIR, emptyOutDir: true, target: "es2022", sourcemap: false },
  });
  return webSize();
}
