// `anonify deploy`: the contract on any Ethereum JSON-RPC chain, the owner's first policy, and the
// network profile nodes and clients start from.
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { type Address, getAddress, type Hex, isAddress } from "viem";
import { withWallet } from "../chain/chain.js";
import { DEFAULT_NETWORK_PROFILE, parseRpcUrl, writeNetworkProfile } from "../client/network-profile.js";
import { defaultMeasurement, deployNetwork } from "../operator/deployment.js";
import {
  connectRpc,
  OperatorError,
  readKeyFile,
  requireFunds,
  showEther,
} from "../operator/operator-checks.js";
import { changeLine } from "../operator/owner-policy.js";
import type { PolicyKeys } from "../protocol/policy-document.js";
import { run } from "./output.js";

const MEASUREMENT_PATTERN = /^0x[0-9a-fA-F]{64}$/;

/** For a repeatable option: each use adds its value. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function parseAddress(value: string): Address {
  if (!isAddress(value, { strict: true }))
    throw new OperatorError(
      "bad_address",
      `${JSON.stringify(value)} is not an address (0x and 40 hex digits)`,
    );
  return getAddress(value);
}

/** The policy keys `--policy-signer` (repeatable) and `--policy-threshold` name, if any. */
export function parsePolicyKeys(flags: {
  policySigner: string[];
  policyThreshold?: string;
}): PolicyKeys | undefined {
  const signers = [...new Set(flags.policySigner.map(parseAddress))];
  if (signers.length === 0) {
    if (flags.policyThreshold !== undefined)
      throw new OperatorError("bad_flag", "--policy-threshold needs --policy-signer");
    return undefined;
  }
  const threshold = Number(flags.policyThreshold ?? Number.NaN);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > signers.length)
    throw new OperatorError(
      "bad_flag",
      `--policy-threshold must be a whole number from 1 to the ${signers.length} distinct signers, not ${JSON.stringify(flags.policyThreshold)}`,
    );
  return { threshold, signers };
}

/** A measurement as hex (with or without 0x), or `default`: the default enclave bundle's. */
export function parseMeasurement(value: string): Hex {
  if (value === "default") return defaultMeasurement();
  const hex = value.startsWith("0x") ? value : `0x${value}`;
  if (!MEASUREMENT_PATTERN.test(hex))
    throw new OperatorError(
      "bad_measurement",
      `${JSON.stringify(value)} is not a measurement (32 bytes as hex; anonify enclave measure prints one) nor "default"`,
    );
  return hex.toLowerCase() as Hex;
}

type DeployFlags = {
  rpc: string;
  key: string;
  out: string;
  trustSigner: string[];
  allowMeasurement: string[];
  debugAllowed: boolean;
  policySigner: string[];
  policyThreshold?: string;
  json: boolean;
};

export function registerDeployCommand(program: Command): void {
  program
    .command("deploy")
    .description("deploy the Anonify contract to a chain, set its policy, and write the network profile")
    .requiredOption("--rpc <url>", "an Ethereum JSON-RPC URL of the chain")
    .requiredOption(
      "--key <file>",
      "the deployer's private key file; it becomes the contract's owner and pays gas",
    )
    .option("--out <file>", "where to write the network profile", DEFAULT_NETWORK_PROFILE)
    .option("--trust-signer <address>", "trust this attestation service signer (repeatable)", collect, [])
    .option(
      "--allow-measurement <hex|default>",
      "allow this enclave measurement; default: the default enclave bundle's (repeatable)",
      collect,
      [],
    )
    .option("--debug-allowed", "allow debug and simulated enclaves (development networks only)", false)
    .option(
      "--policy-signer <address>",
      "a policy key the enclave build pins (repeatable): the profile tells clients to trust measurements a document k of them signed admits",
      collect,
      [],
    )
    .option("--policy-threshold <k>", "signatures of those keys a policy document needs")
    .option("--json", "machine-readable output", false)
    .addHelpText(
      "after",
      "\nExample: anonify deploy --rpc http://127.0.0.1:8545 --key owner.key --trust-signer 0x… --allow-measurement default",
    )
    .action((flags: DeployFlags) =>
      run(flags, async () => {
        const out = resolve(flags.out);
        if (existsSync(out))
          throw new OperatorError("profile_exists", `${out} exists; give --out another file (or remove it)`);
        const policy = {
          trustSigners: flags.trustSigner.map(parseAddress),
          allowMeasurements: flags.allowMeasurement.map(parseMeasurement),
          debugAllowed: flags.debugAllowed ? true : undefined,
        };
        const policyKeys = parsePolicyKeys(flags);
        const key = readKeyFile(flags.key, "the deployer's");
        const ledger = await connectRpc(parseRpcUrl(flags.rpc, "flags", "--rpc"));
        const owner = withWallet(ledger, key);
        const balance = await requireFunds(owner, "deployer");
        const deployment = await deployNetwork(owner, policy);
        mkdirSync(dirname(out), { recursive: true });
        // What clients of this deployment trust: the builds it allows, and what its policy keys admit.
        const profile = {
          ...deployment.profile,
          trust: { measurements: policy.allowMeasurements, ...(policyKeys ? { policyKeys } : {}) },
        };
        writeNetworkProfile(out, profile);
        if (flags.json) {
          console.log(
            JSON.stringify({
              ok: true,
              chainId: profile.chainId,
              contract: profile.contract,
              deployedAtBlock: profile.deployedAtBlock.toString(),
              rpcUrl: profile.rpcUrl,
              owner: owner.account.address,
              transaction: deployment.transaction,
              networkProfile: out,
              policy: deployment.policy,
            }),
          );
          return;
        }
        console.log(
          `deployed Anonify at ${profile.contract} on chain ${profile.chainId}, block ${profile.deployedAtBlock} ` +
            `(transaction ${deployment.transaction}); owner ${owner.account.address} (had ${showEther(balance)})`,
        );
        for (const change of deployment.policy) console.log(`  ${changeLine(change)}`);
        console.log(`network profile ${out}: give it to nodes and clients with --network`);
      }),
    );
}
