// A network profile: the chain and the contract a user chose to trust, kept in a JSON file the user
// holds (`npm start` writes `.anonify/network.json`). Clients take the chain RPC, chain id and
// contract from it, never from a node: a node could name a chain of its own that serves a forged
// enclave registration. The format is `network-profile-format.ts` (shared with the browser).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import {
  type NetworkProfile,
  NetworkProfileError,
  networkProfileJson,
  parseNetworkProfile,
} from "./network-profile-format.js";

export * from "./network-profile-format.js";

/** Reads and checks a profile file. */
export function readNetworkProfile(path: string): NetworkProfile {
  if (!existsSync(path)) throw new NetworkProfileError(path, undefined, "no such file");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new NetworkProfileError(path, undefined, `not JSON (${(error as Error).message})`);
  }
  return parseNetworkProfile(json, path);
}

export function writeNetworkProfile(path: string, profile: NetworkProfile): void {
  writeFileSync(path, networkProfileJson(profile));
}
