// `anonify policy …`: the contract owner's gate, one change per command, each printed before → after
// with its transaction and block (nothing is sent when the chain already holds it).
import type { Command } from "commander";
import type { Address } from "viem";
import { withWallet } from "../chain/chain.js";
import { OperatorError, readKeyFile, requireFunds } from "../operator/operator-checks.js";
import { applyPolicy, changeLine, type PolicyAction, requireOwner } from "../operator/owner-policy.js";
import { parseAddress, parseMeasurement } from "./deploy.js";
import { type OperatorNetworkFlags, operatorNetwork, operatorNetworkOptions } from "./operator-network.js";
import { run } from "./output.js";
import { registerPolicyDocumentCommands } from "./policy-document.js";

type PolicyFlags = OperatorNetworkFlags & { key: string; json: boolean };

function parseSwitch(value: string): boolean {
  if (value === "on" || value === "off") return value === "on";
  throw new OperatorError("bad_switch", `debug takes on or off, not ${JSON.stringify(value)}`);
}

/**
 * The subcommands: name, argument, what it does, and the change it makes of its argument (and of the
 * account sending it).
 */
const CHANGES: readonly [string, string, string, (arg: string, sender: Address) => PolicyAction][] = [
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
    (s) => ({ kind: "signer", signer: parseAddress(s), trusted: true }),
  ],
  [
    "distrust-signer",
    "<address>",
    "stop trusting this attestation service key",
    (s) => ({ kind: "signer", signer: parseAddress(s), trusted: false }),
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
    (e) => ({ kind: "revoke", enclave: parseAddress(e) }),
  ],
  [
    "transfer-ownership",
    "<address>",
    "offer ownership of the contract to this account (a multisig, best): it moves when that account runs accept-ownership; 0x0000000000000000000000000000000000000000 withdraws the offer",
    (a) => ({ kind: "offer-ownership", to: parseAddress(a) }),
  ],
  [
    "accept-ownership",
    "",
    "take the ownership the owner offered to this key's account",
    (_, sender) => ({ kind: "accept-ownership", by: sender }),
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
    const apply = (arg: string, flags: PolicyFlags) =>
      run(flags, async () => {
        const key = readKeyFile(flags.key, "the owner's");
        const { ledger, contract } = await operatorNetwork(flags);
        const owner = withWallet(ledger, key);
        const change = action(arg, owner.account.address);
        await requireOwner(owner, contract, change);
        await requireFunds(owner, "owner");
        const done = await applyPolicy(owner, contract, change);
        console.log(flags.json ? JSON.stringify({ ok: true, contract, ...done }) : changeLine(done));
      });
    const command = operatorNetworkOptions(policy.command(argument ? `${name} ${argument}` : name))
      .description(description)
      .requiredOption("--key <file>", "the contract owner's private key file (pays gas)")
      .option("--json", "machine-readable output", false);
    if (argument) command.action(apply);
    else command.action((flags: PolicyFlags) => apply("", flags));
  }
}
