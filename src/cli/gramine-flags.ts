// `node start --platform gramine-sgx`: the enclave started as Gramine expects, `gramine-sgx NAME` in
// the directory of the signed manifest (`--gramine-dir`, default the bundle's), with the launcher
// configurable (`--gramine-command gramine-direct` debugs without SGX). What is checked before
// anything starts is src/host/gramine-launch.ts's.
import { dirname } from "node:path";
import type { LauncherCommand } from "../host/enclave-link.js";
import { GRAMINE_DEFAULT_COMMAND, prepareGramineLaunch } from "../host/gramine-launch.js";
import { OperatorError } from "../operator/operator-checks.js";

export type GramineFlags = { platform?: string; gramineDir?: string; gramineCommand?: string };

export const GRAMINE_PLATFORM = "gramine-sgx";

/** The launcher to start the enclave with, or undefined when the node runs `node BUNDLE` itself. */
export function gramineLauncher(
  flags: GramineFlags,
  bundle: string | undefined,
): LauncherCommand | undefined {
  if (flags.platform !== GRAMINE_PLATFORM) {
    const given = flags.gramineDir !== undefined ? "--gramine-dir" : "--gramine-command";
    if (flags.gramineDir !== undefined || flags.gramineCommand !== undefined)
      throw new OperatorError("bad_flag", `${given} goes with --platform ${GRAMINE_PLATFORM}`);
    return undefined;
  }
  const dir = flags.gramineDir ?? (bundle === undefined ? undefined : dirname(bundle));
  if (dir === undefined)
    throw new OperatorError(
      "bad_flag",
      `--platform ${GRAMINE_PLATFORM} needs --enclave (the bundle anonify enclave build --platform ${GRAMINE_PLATFORM} wrote) or --gramine-dir`,
    );
  const launch = prepareGramineLaunch({
    dir,
    command: flags.gramineCommand ?? GRAMINE_DEFAULT_COMMAND,
    ...(bundle === undefined ? {} : { bundle }),
  });
  return { command: launch.command, args: launch.args, cwd: launch.cwd, sayLastLine: true };
}
