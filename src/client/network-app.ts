// Which app a network runs, as the client learns it: the node names it (name, code hash, state
// version), and the chain confirms it, since the enclave the client encrypts to registered the id of
// its app (`appIdOf`), bound into its evidence. A client asked for another app says so plainly
// before it signs anything, rather than sending commands the enclave would refuse.
import type { Hex } from "viem";
import { type AppIdentity, appIdOf } from "../protocol/digests.js";
import { AnonifyClientError } from "./errors.js";

/**
 * The app the node names for its enclave, if it is the one that enclave registered with on chain;
 * `wrong_app` otherwise (the node lies about it, or serves an enclave it does not run).
 */
export function registeredApp(named: AppIdentity, registered: Hex, enclave: Hex, node: string): AppIdentity {
  if (appIdOf(named).toLowerCase() !== registered.toLowerCase())
    throw new AnonifyClientError(
      "wrong_app",
      `the node ${node} says its enclave runs ${named.name} (code hash ${named.codeHash}), but enclave ` +
        `${enclave} registered app ${registered} on chain`,
    );
  return named;
}

/** `runs`, unless the user asked for another app by name: then `wrong_app`, saying which each is. */
export function chosenApp(asked: string | undefined, runs: AppIdentity): AppIdentity {
  if (asked !== undefined && asked !== runs.name)
    throw new AnonifyClientError("wrong_app", `this network runs ${runs.name}, not ${asked}`);
  return runs;
}
