// `anonify policy document | sign | publish`: the signed policy documents every member enclave acts
// on (revocations, measurements admitted besides its own, TCB minimums), as the policy signers make
// them: one writes the document for the network's chain and contract, each signer adds a signature
// with their own key (on their own machine, if they like), and anyone publishes it. The enclaves
// count the signatures of the keys pinned in their build; the contract stores nothing.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { type Hex, hexToBytes, isAddress, isHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { measurementWord } from "../attestation/attest.js";
import { Platform, TcbStatus, type TcbStatusName } from "../attestation/verdict.js";
import { withWallet } from "../chain/chain.js";
import { writeAtomic } from "../chain/files.js";
import { OperatorError, readKeyFile, requireFunds } from "../operator/operator-checks.js";
import { policySignature, publishPolicy, signPolicy } from "../operator/policy.js";
import type { AppIdentity, LedgerDomain } from "../protocol/digests.js";
import {
  type AdmittedMeasurement,
  type AppUpgrade,
  decodePolicy,
  POLICY_SIGNATURE_BYTES,
  type PolicyDocument,
  PolicyError,
  policyDigest,
  type TcbMinimum,
} from "../protocol/policy-document.js";
import { appUpgrade } from "../protocol/policy-upgrade.js";
import { MAX_VMPL } from "../protocol/policy-vmpl.js";
import { addressOfKey, SIGNATURE_BYTES, SignatureError, verifiedWithKey } from "../protocol/signatures.js";
import { type OperatorNetworkFlags, operatorNetwork, operatorNetworkOptions } from "./operator-network.js";
import { run } from "./output.js";

type DocumentFlags = OperatorNetworkFlags & {
  version: string;
  out: string;
  revoke?: string[];
  admit?: string[];
  admitNone: boolean;
  tcbMinimum?: string[];
  upgradeApp?: string[];
  migrateApp?: string;
  maxVmpl?: string;
  json: boolean;
};

/** What the commands pass between them: the document and the signatures gathered so far. */
type SignedFile = { document: Hex; signatures: Hex[] };

const collect = (value: string, values: string[] = []) => [...values, value];

function platformOf(name: string): number {
  if (!Object.hasOwn(Platform, name))
    throw new OperatorError(
      "bad_platform",
      `platform ${name} is none of ${Object.keys(Platform).join(", ")}`,
    );
  return Platform[name as keyof typeof Platform];
}

/** `tdx:0x…`: a platform and its measurement (Nitro's 48-byte PCR0 becomes its 32-byte word). */
function parseAdmitted(value: string): AdmittedMeasurement {
  const [platform, measurement] = value.split(":");
  if (!platform || !measurement || !isHex(measurement))
    throw new OperatorError("bad_measurement", `--admit takes PLATFORM:0xHEX, not ${value}`);
  return { platform: platformOf(platform), measurement: measurementWord(measurement.slice(2)) };
}

/** An app id (`anonify enclave measure` prints it): 32 bytes of hex. */
function parseAppId(value: string): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(value))
    throw new OperatorError("bad_app", `--upgrade-app takes an app id (0x and 64 hex digits), not ${value}`);
  return value.toLowerCase() as Hex;
}

/** `NAME:VERSION:0xCODE_HASH`: one app in full, as `anonify enclave build --json` prints it (`app`). */
function parseApp(value: string): AppIdentity {
  const [name, version, codeHash] = value.split(":");
  if (
    !name ||
    !version ||
    !codeHash ||
    !/^[1-9][0-9]*$/.test(version) ||
    !/^0x[0-9a-fA-F]{64}$/.test(codeHash)
  )
    throw new OperatorError(
      "bad_app",
      `--migrate-app takes FROM,TO, each NAME:STATE_VERSION:CODE_HASH, not ${value}`,
    );
  return { name, stateVersion: Number(version), codeHash: codeHash as Hex };
}

/**
 * `tally:1:0xCODE,tally:2:0xCODE`: the network's app and the version of it with another state shape
 * it becomes, in full: an upgrade keeps the app's name, which an app id (a hash) does not show.
 */
function parseMigration(value: string): AppUpgrade {
  const apps = value.split(",");
  if (apps.length !== 2)
    throw new OperatorError(
      "bad_app",
      `--migrate-app takes FROM,TO, each NAME:STATE_VERSION:CODE_HASH, not ${value}`,
    );
  const [from, to] = apps.map(parseApp) as [AppIdentity, AppIdentity];
  try {
    return appUpgrade(from, to);
  } catch (error) {
    if (error instanceof PolicyError) throw new OperatorError("bad_app", `--migrate-app: ${error.message}`);
    throw error;
  }
}

/** `sgx:UpToDate,SWHardeningNeeded:17`: a platform, the statuses accepted, the minimum collateral number. */
function parseMinimum(value: string): TcbMinimum {
  const [platform, statuses, number] = value.split(":");
  if (!platform || !statuses || !number || !/^[0-9]+$/.test(number))
    throw new OperatorError(
      "bad_tcb_minimum",
      `--tcb-minimum takes PLATFORM:STATUS[,STATUS…]:N, not ${value}`,
    );
  const names = statuses.split(",");
  for (const name of names)
    if (!Object.hasOwn(TcbStatus, name))
      throw new OperatorError(
        "bad_tcb_minimum",
        `TCB status ${name} is none of ${Object.keys(TcbStatus).join(", ")}`,
      );
  return {
    platform: platformOf(platform),
    statuses: names as TcbStatusName[],
    tcbEvaluationDataNumber: Number(number),
  };
}

function parseEnclave(value: string): Hex {
  if (!isAddress(value, { strict: false }))
    throw new OperatorError("bad_address", `--revoke takes an enclave address, not ${value}`);
  return value.toLowerCase() as Hex;
}

function readSigned(path: string): { file: SignedFile; document: PolicyDocument } {
  let file: SignedFile;
  try {
    file = JSON.parse(readFileSync(path, "utf8")) as SignedFile;
  } catch (error) {
    throw new OperatorError(
      "bad_document",
      `${path}: not a policy document file (${(error as Error).message})`,
    );
  }
  if (!isHex(file.document) || !Array.isArray(file.signatures) || !file.signatures.every((s) => isHex(s)))
    throw new OperatorError("bad_document", `${path}: expected {"document": "0x…", "signatures": ["0x…"]}`);
  try {
    return { file, document: decodePolicy(hexToBytes(file.document)) };
  } catch (error) {
    if (error instanceof PolicyError) throw new OperatorError("bad_document", `${path}: ${error.message}`);
    throw error;
  }
}

function domainOf(document: PolicyDocument): LedgerDomain {
  return { chainId: Number(document.chainId), contract: document.contract };
}

/**
 * The distinct signers whose signatures verify, under the one rule the enclaves apply (what an enclave
 * counts against its pinned keys).
 */
function signersOf(file: SignedFile, document: PolicyDocument): Hex[] {
  const digest = policyDigest(domainOf(document), file.document);
  const signers = file.signatures.flatMap((entry) => {
    const bytes = hexToBytes(entry);
    if (bytes.length !== POLICY_SIGNATURE_BYTES) return [];
    const key = bytes.subarray(SIGNATURE_BYTES);
    try {
      return verifiedWithKey(digest, bytes.subarray(0, SIGNATURE_BYTES), key) ? [addressOfKey(key)] : [];
    } catch (error) {
      if (error instanceof SignatureError) return [];
      throw error;
    }
  });
  return [...new Set(signers)];
}

function describe(document: PolicyDocument): string {
  const parts = [`version ${document.version}`, `${document.revocations.length} revocation(s)`];
  if (document.measurements) parts.push(`${document.measurements.length} admitted measurement(s)`);
  if (document.tcbMinimums) parts.push(`TCB minimums for ${document.tcbMinimums.length} platform(s)`);
  if (document.apps) parts.push(`${document.apps.length} app upgrade(s)`);
  if (document.maxVmpl !== undefined) parts.push(`SEV-SNP reports from VMPL ${document.maxVmpl} or lower`);
  const upgrade = document.upgrade;
  if (upgrade)
    parts.push(
      `app ${upgrade.fromApp.name} v${upgrade.fromApp.stateVersion} (${upgrade.from}) migrated to ` +
        `v${upgrade.toApp.stateVersion} (${upgrade.to}) here`,
    );
  return parts.join(", ");
}

function parseMaxVmpl(text: string): number {
  if (!new RegExp(`^[0-${MAX_VMPL}]$`).test(text))
    throw new OperatorError("bad_vmpl", `--max-vmpl is a VMPL, 0 to ${MAX_VMPL}`);
  return Number(text);
}

export function registerPolicyDocumentCommands(policy: Command): void {
  operatorNetworkOptions(policy.command("document"))
    .description("write a policy document for the network's chain and contract (then: sign, publish)")
    .requiredOption("--version <n>", "its version: above every document published before")
    .requiredOption("--out <file>", "where to write it")
    .option("--revoke <enclave>", "revoke this enclave in every member (repeatable)", collect)
    .option("--admit <platform:hex>", "admit this measurement besides the build's own (repeatable)", collect)
    .option("--admit-none", "admit no measurement besides the build's own (ends an earlier list)", false)
    .option(
      "--tcb-minimum <platform:statuses:n>",
      "accepted TCB statuses and minimum tcbEvaluationDataNumber (repeatable)",
      collect,
    )
    .option(
      "--upgrade-app <id>",
      "admit enclaves of this app id besides the group's own app: an upgrade of it (repeatable)",
      collect,
    )
    .option(
      "--migrate-app <from,to>",
      "upgrade the network's app FROM to TO, a version of it with another state shape, at this document, " +
        "each NAME:STATE_VERSION:CODE_HASH (app of anonify enclave build --json; one name): FROM nodes " +
        "stop applying there, TO nodes migrate its state (both admitted)",
    )
    .option(
      "--max-vmpl <n>",
      "admit SEV-SNP reports from VMPL 0 to N (an SVSM deployment's guest kernel runs at VMPL 1 or more)",
    )
    .option("--json", "machine-readable output", false)
    .action((flags: DocumentFlags) =>
      run(flags, async () => {
        if (!/^[1-9][0-9]*$/.test(flags.version))
          throw new OperatorError("bad_version", "--version is a whole number from 1");
        const { ledger, contract } = await operatorNetwork(flags);
        const admitted = (flags.admit ?? []).map(parseAdmitted);
        const minimums = (flags.tcbMinimum ?? []).map(parseMinimum);
        const upgrade = flags.migrateApp === undefined ? undefined : parseMigration(flags.migrateApp);
        const apps = [...(flags.upgradeApp ?? []), ...(upgrade ? [upgrade.from, upgrade.to] : [])];
        const signed = await signPolicy(
          { chainId: ledger.chain.id, contract },
          {
            version: BigInt(flags.version),
            revocations: (flags.revoke ?? []).map(parseEnclave),
            measurements: admitted.length > 0 || flags.admitNone ? admitted : undefined,
            tcbMinimums: minimums.length > 0 ? minimums : undefined,
            apps: flags.upgradeApp || upgrade ? apps.map((id) => parseAppId(id)) : undefined,
            upgrade,
            maxVmpl: flags.maxVmpl === undefined ? undefined : parseMaxVmpl(flags.maxVmpl),
          },
          [],
        );
        writeAtomic(flags.out, `${JSON.stringify(signed, null, 2)}\n`);
        const { document } = readSigned(flags.out);
        console.log(
          flags.json
            ? JSON.stringify({ ok: true, out: flags.out, document: signed.document })
            : `policy document written to ${flags.out}: ${describe(document)}, for chain ${document.chainId} and contract ${document.contract}`,
        );
      }),
    );

  policy
    .command("sign <file>")
    .description("add your signature (a policy signer's key) to a policy document")
    .requiredOption("--key <file>", "your policy signing key file")
    .option("--json", "machine-readable output", false)
    .action((path: string, flags: { key: string; json: boolean }) =>
      run(flags, async () => {
        const { file, document } = readSigned(path);
        const key = readKeyFile(flags.key, "the policy signer's");
        const signer = privateKeyToAccount(key).address;
        const digest = policyDigest(domainOf(document), file.document);
        // A signer signs once: signing again replaces its signature (members take one per pinned key).
        const others = file.signatures.filter(
          (entry) =>
            !signersOf({ ...file, signatures: [entry] }, document).includes(signer.toLowerCase() as Hex),
        );
        const next = { ...file, signatures: [...others, await policySignature(digest, key)] };
        writeAtomic(path, `${JSON.stringify(next, null, 2)}\n`);
        const signers = signersOf(next, document);
        console.log(
          flags.json
            ? JSON.stringify({ ok: true, signer, signers })
            : `signed by ${signer}; ${signers.length} distinct signer(s): ${signers.join(", ")}`,
        );
      }),
    );

  operatorNetworkOptions(policy.command("publish <file>"))
    .description("publish a signed policy document on chain (anyone may; every member checks the signatures)")
    .requiredOption("--key <file>", "the private key file that pays gas")
    .option("--json", "machine-readable output", false)
    .action((path: string, flags: OperatorNetworkFlags & { key: string; json: boolean }) =>
      run(flags, async () => {
        const { file, document } = readSigned(path);
        const key = readKeyFile(flags.key, "the publisher's");
        const { ledger, contract } = await operatorNetwork(flags);
        if (
          document.chainId !== BigInt(ledger.chain.id) ||
          document.contract.toLowerCase() !== contract.toLowerCase()
        )
          throw new OperatorError(
            "wrong_network",
            `the document is for chain ${document.chainId} and contract ${document.contract}, not this network's`,
          );
        if (file.signatures.length === 0)
          throw new OperatorError(
            "unsigned",
            "the document has no signature: each policy signer runs `anonify policy sign` first",
          );
        const wallet = withWallet(ledger, key);
        await requireFunds(wallet, "publisher");
        const receipt = await publishPolicy(wallet, contract, file);
        const signers = signersOf(file, document);
        console.log(
          flags.json
            ? JSON.stringify({
                ok: true,
                transaction: receipt.transactionHash,
                block: receipt.blockNumber.toString(),
                signers,
              })
            : `published ${describe(document)}, signed by ${signers.length} (transaction ${receipt.transactionHash}, block ${receipt.blockNumber}); members apply it if enough of their pinned keys signed and its version is new`,
        );
      }),
    );
}
