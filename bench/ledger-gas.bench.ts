// Gas of the contract's three hot calls on a real Anvil: registerEnclave, commitHandshake and
// submitBatch with a 1 KiB ciphertext (beside its calldata floor, the least any design could pay).
import { writeFileSync } from "node:fs";
import { type Hex, toHex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { type AnonifyWrite, type AnonifyWriteArgs, writeAnonifyMined } from "../src/chain/chain.js";
import { batchDigest, handshakeDigest } from "../src/protocol/digests.js";
import {
  MEASUREMENT,
  newEnclave,
  ownerCall,
  signedReport,
  signRaw,
  startLedgerFixture,
} from "../test/support/chain.js";

const CIPHERTEXT_BYTES = 1024;
const TX_BASE_GAS = 21_000n;
const CALLDATA_NONZERO_GAS = 16n;

export async function run(outDir: string): Promise<void> {
  const f = await startLedgerFixture();
  try {
    const serviceKey = generatePrivateKey();
    await ownerCall(f, "setTrustedSigner", [privateKeyToAccount(serviceKey).address, true]);
    await ownerCall(f, "setMeasurementAllowed", [MEASUREMENT, true]);
    const send = async <const F extends AnonifyWrite>(functionName: F, args: AnonifyWriteArgs<F>) => {
      const receipt = await writeAnonifyMined(f.owner, f.contract, functionName, args);
      if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
      return receipt.gasUsed;
    };
    const enclave = newEnclave();
    const { report, signature, evidence } = await signedReport(f.domain, enclave, serviceKey);
    const register = await send("registerEnclave", [
      report,
      signature,
      enclave.address,
      enclave.hpkePublicKey,
      evidence,
    ]);
    const handshake = toHex(crypto.getRandomValues(new Uint8Array(CIPHERTEXT_BYTES)));
    const commit = await send("commitHandshake", [
      0n,
      handshake,
      await signRaw(enclave.key, handshakeDigest(f.domain, 0n, handshake)),
    ]);
    const batches: bigint[] = [];
    for (let nonce = 0n; nonce < 3n; nonce++) {
      const ciphertext: Hex = toHex(
        crypto.getRandomValues(new Uint8Array(CIPHERTEXT_BYTES)).map((b) => b | 1),
      );
      const sig = await signRaw(enclave.key, batchDigest(f.domain, 1n, nonce, ciphertext, 4));
      batches.push(await send("submitBatch", [1n, ciphertext, 4, enclave.address, sig]));
    }
    const floor = TX_BASE_GAS + CALLDATA_NONZERO_GAS * BigInt(CIPHERTEXT_BYTES);
    const rows = {
      registerEnclave: Number(register),
      "commitHandshake (1 KiB)": Number(commit),
      "submitBatch (1 KiB, first)": Number(batches[0]),
      "submitBatch (1 KiB, steady)": Number(batches[2]),
      "calldata floor of 1 KiB": Number(floor),
    };
    const ratio = Number(batches[2]) / Number(floor);
    const md = [
      "# Ledger gas (real Anvil, solc-js, evmVersion cancun)",
      "",
      "Measured by `npm run bench -- ledger-gas`.",
      "",
      "| call | gas |",
      "|---|---:|",
      ...Object.entries(rows).map(([k, v]) => `| ${k} | ${v.toLocaleString("en-US")} |`),
      "",
      `Steady submitBatch / calldata floor: ${ratio.toFixed(2)}`,
      "",
    ].join("\n");
    writeFileSync(`${outDir}/ledger-gas.md`, md);
    writeFileSync(
      `${outDir}/ledger-gas.json`,
      `${JSON.stringify({ date: new Date().toISOString(), gas: rows, ratio }, null, 2)}\n`,
    );
    console.log(md);
  } finally {
    await f.stop();
  }
}
