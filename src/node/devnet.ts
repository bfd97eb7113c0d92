import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Address } from "viem";
import { ANVIL_MNEMONIC, startAnvil } from "../ledger/anvil.js";
import { connectLedger, deployAnonify, withWallet } from "../ledger/chain.js";
import { mnemonicKey } from "../ledger/keys.js";

/** The devnet's deployment record, kept beside the chain state so a second start resumes it. */
type DevnetRecord = { chainId: number; contract: Address; deployedAtBlock: string };

export type Devnet = {
  rpcUrl: string;
  chainId: number;
  contract: Address;
  deployedAtBlock: bigint;
  resumed: boolean;
  stop(): Promise<void>;
};

export type DevnetOptions = { dataDir: string; blockTime?: number };

/** Starts the embedded chain (state in `<dataDir>/chain`) and deploys the contract once. */
export async function startDevnet(options: DevnetOptions): Promise<Devnet> {
  mkdirSync(options.dataDir, { recursive: true });
  const anvil = await startAnvil({ dataDir: join(options.dataDir, "chain"), blockTime: options.blockTime });
  try {
    const ledger = await connectLedger(anvil.rpcUrl);
    const recordPath = join(options.dataDir, "devnet.json");
    let record: DevnetRecord | undefined;
    if (existsSync(recordPath)) {
      record = JSON.parse(readFileSync(recordPath, "utf8")) as DevnetRecord;
      const code = await ledger.publicClient.getCode({ address: record.contract });
      if (!code || code === "0x") record = undefined; // the chain state was lost: deploy again
    }
    const resumed = record !== undefined;
    if (!record) {
      const owner = withWallet(ledger, mnemonicKey(ANVIL_MNEMONIC, 0));
      const contract = await deployAnonify(owner);
      const block = await ledger.publicClient.getBlockNumber();
      record = { chainId: anvil.chainId, contract, deployedAtBlock: block.toString() };
      writeFileSync(recordPath, JSON.stringify(record, null, 2));
    }
    return {
      rpcUrl: anvil.rpcUrl,
      chainId: anvil.chainId,
      contract: record.contract,
      deployedAtBlock: BigInt(record.deployedAtBlock),
      resumed,
      stop: () => anvil.stop(),
    };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
