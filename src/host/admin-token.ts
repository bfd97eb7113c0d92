// The node admin token: what a caller of the admin routes (`POST /v1/group/rotate`) must present as
// `Authorization: Bearer <token>`. Made at the node's first start, kept in its host directory (0600).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeAtomic } from "../chain/files.js";

/** The token's file in a node's host directory. */
export const ADMIN_TOKEN_FILE = "admin-token";

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** The path of the admin token of the node whose host directory is `hostDir`. */
export const adminTokenPath = (hostDir: string): string => join(hostDir, ADMIN_TOKEN_FILE);

/**
 * The node's admin token: read from `<hostDir>/admin-token`, or, at first start, 32 random bytes as
 * hex written there atomically with mode 0600. A file that holds anything else is refused rather
 * than replaced (an operator may have put a token there on purpose).
 */
export function loadOrCreateAdminToken(hostDir: string): string {
  const path = adminTokenPath(hostDir);
  if (!existsSync(path)) writeAtomic(path, `${randomBytes(32).toString("hex")}\n`);
  chmodSync(path, 0o600); // also narrows a file an operator made with a wider mode
  const token = readFileSync(path, "utf8").trim();
  if (!TOKEN_PATTERN.test(token)) throw new Error(`${path}: an admin token is 64 lowercase hex digits`);
  return token;
}

export type AdminCheck = "ok" | "missing" | "wrong";

/**
 * Checks an `Authorization` header against the token in constant time: both sides are hashed first,
 * so neither the length nor a common prefix of a guess shows in the time taken.
 */
export function checkAdminAuthorization(header: string | undefined, token: string): AdminCheck {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!match?.[1]) return "missing";
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(match[1]), digest(token)) ? "ok" : "wrong";
}
