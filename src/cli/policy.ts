// `anonify policy …`: the contract owner's gate, one change per command, each printed before → after
// with its transaction and block (nothing is sent when the chain already holds it).
import type { Command } from "commander";
import { withWallet } from "../chain/chain.js";
import { OperatorError, readKeyFile, requireFunds } from "../operator/operator-checks.js";
import { applyPolicy, changeLine, type PolicyAction, requireOwner } from "../operator/owner-policy.js";
import { parseMeasurement, parseSigner } from "./deploy.js";
import { type OperatorNetworkFlags, operatorNetwork, operatorNetworkOptions } from "./operator-network.js";
import { run } from "./output.js";
import { registerPolicyDocumentCommands } from "./policy-document.js";

type PolicyFlags = OperatorNetworkFlags & { key: string; json: boolean };

function parseSwitch(value: string): boolean {
  if (value === "on" || value === "off") return value === "on";
  throw new OperatorError("bad_switch", `debug takes on or off, not ${JSON.stringify(value)}`);
}

/** The subcommands: name, argument, what it does, and the change it makes of its argument. */
const CHANGES: readonly [string, string, string, (arg: string) => PolicyAction][] = [
  [
    "allow-measurement",
    "<hex|default>",
    "allow enclaves of this measurement to register (default: the default enclave bundle's)",
    (m) => ({ kind: "measurement", measurement: parseMeasurement(m), allowed: true }),
  ],
  [
    "disallow-measurement",
    "<hex|default>",
    "stop enclaves of this measurement from registering",
    (m) => ({ kind: "measurement", measurement: parseMeasurement(m), allowed: false }),
  ],
  [
    "trust-signer",
    "<address>",
    "trust reports signed by this attestation service key",
    (s) => ({ kind: "signer", signer: parseSigner(s), trusted: true }),
  ],
  [
    "distrust-signer",
    "<address>",
    "stop trusting this attestation service key",
    (s) => ({ kind: "signer", signer: parseSigner(s), trusted: false }),
  ],
  [
    "debug",
    "<on|off>",
    "allow (on) or refuse (off) debug and simulated enclaves",
    (v) => ({ kind: "debug", allowed: parseSwitch(v) }),
  ],
  [
    "revoke",
    "<enclave>",
    "revoke an enclave on chain: its batches and handshakes are refused (members remove it on a signed policy revoking it)",
    (e) => ({ kind: "revoke", enclave: parseSigner(e) }),
  ],
];

export function registerPolicyCommand(program: Command): void {
  const policy = program
    .command("policy")
    .description(
      "the contract owner's policy (measurements, attestation signers, debug, revocation) and the signed policy documents members act on",
    );
  registerPolicyDocumentCommands(policy);
  for (const [name, argument, description, action] of CHANGES) {
    operatorNetworkOptions(policy.command(`${name} ${argument}`))
      .description(description)
      .requiredOption("--key <file>", "the contract owner's private key file (pays gas)")
      .option("--json", "machine-readable output", false)
      .action((arg: string, flags: PolicyFlags) =>
        run(flags, async () => {
          const change = action(arg);
          const key = readKeyFile(flags.key, "the owner's");
          const { ledger, contract } = await operatorNetwork(flags);
          const owner = withWallet(ledger, key);
          await requireOwner(owner, contract);
          await requireFunds(owner, "owner");
          const done = await applyPolicy(owner, contract, change);
          console.log(flags.json ? JSON.stringify({ ok: true, contract, ...done }) : changeLine(done));
        }),
      );
  }
}
