// `anonify collateral publish FILE`: puts Intel's PCS collateral for SGX or TDX platforms on chain,
// where every member reads it to judge those platforms' quotes. FILE is the collateral as Intel's PCS
// or a PCCS serves it, in the JSON shape @phala/dcap-qvl's `get_collateral` returns (the shape of
// ../shared/vectors/sgx-dcap/*_collateral.json). Anyone may publish; members hold a set only if it
// verifies to the Intel root pinned in their build and is fresher than the one they hold.
// `anonify collateral publish --sev-snp-crl FILE`: puts AMD's CRLs for one SEV-SNP product on chain
// (FILE as AMD's KDS serves `/vcek/v1/{product}/crl`: DER, or PEM "X509 CRL" blocks), which members
// and registrations check SEV-SNP chains against; held only if the product's pinned ARK signed them
// and they are fresher than the set held.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { withWallet } from "../chain/chain.js";
import {
  collateralRecord,
  publishCollateral,
  readSevSnpCrls,
  sevSnpCrlRecord,
} from "../operator/collateral.js";
import { OperatorError, readKeyFile, requireFunds } from "../operator/operator-checks.js";
import { type OperatorNetworkFlags, operatorNetwork, operatorNetworkOptions } from "./operator-network.js";
import { run } from "./output.js";

function readFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new OperatorError("bad_file", `cannot read ${path}: ${(error as Error).message}`);
  }
}

function readJson(path: string): unknown {
  const text = readFile(path).toString("utf8");
  try {
    return JSON.parse(text);
  } catch {
    throw new OperatorError("bad_collateral", `${path} is not JSON`);
  }
}

type PublishFlags = OperatorNetworkFlags & { key: string; sevSnpCrl: boolean; json: boolean };

async function publishSevSnpCrls(path: string, flags: PublishFlags): Promise<void> {
  const { record, head } = sevSnpCrlRecord(readSevSnpCrls(readFile(path)));
  const key = readKeyFile(flags.key, "the publisher's");
  const { ledger, contract } = await operatorNetwork(flags);
  const wallet = withWallet(ledger, key);
  await requireFunds(wallet, "publisher");
  const receipt = await publishCollateral(wallet, contract, record);
  const { transactionHash: transaction, blockNumber: block } = receipt;
  console.log(
    flags.json
      ? JSON.stringify({ ok: true, transaction, block: block.toString(), bytes: record.length, ...head })
      : `published AMD's ${head.product} CRLs (${head.key}, next update ${head.nextUpdate}; ${record.length} bytes) in transaction ${transaction}, block ${block}; members hold them if they are fresher than the set they hold`,
  );
}

export function registerCollateralCommand(program: Command): void {
  const collateral = program
    .command("collateral")
    .description(
      "Intel collateral and AMD CRLs on chain, which members judge SGX and TDX quotes and SEV-SNP reports against",
    );
  operatorNetworkOptions(collateral.command("publish <file>"))
    .description("publish a PCS collateral set (JSON) on chain; anyone may, every member verifies it")
    .requiredOption("--key <file>", "the private key file that pays gas")
    .option("--sev-snp-crl", "FILE is AMD's CRL for one SEV-SNP product (DER or PEM), from its KDS", false)
    .option("--json", "machine-readable output", false)
    .action((path: string, flags: PublishFlags) =>
      run(flags, async () => {
        if (flags.sevSnpCrl) return publishSevSnpCrls(path, flags);
        const { record, head } = collateralRecord(readJson(path));
        const key = readKeyFile(flags.key, "the publisher's");
        const { ledger, contract } = await operatorNetwork(flags);
        const wallet = withWallet(ledger, key);
        await requireFunds(wallet, "publisher");
        const receipt = await publishCollateral(wallet, contract, record);
        const expired = Date.parse(head.nextUpdate) < Date.now();
        if (flags.json) {
          console.log(
            JSON.stringify({
              ok: true,
              transaction: receipt.transactionHash,
              block: receipt.blockNumber.toString(),
              bytes: record.length,
              ...head,
              expired,
            }),
          );
          return;
        }
        console.log(
          `published ${head.platform} collateral for FMSPC ${head.fmspc} (${head.key}, tcbEvaluationDataNumber ${head.tcbEvaluationDataNumber ?? "none"}, next update ${head.nextUpdate}; ${record.length} bytes) in transaction ${receipt.transactionHash}, block ${receipt.blockNumber}; members hold it if it is fresher than the set they hold`,
        );
        if (expired)
          console.log(
            `warning: its next update (${head.nextUpdate}) is past: quotes judged against it will not verify until a fresher set is published`,
          );
      }),
    );
}
