import { type Hex, toHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

/** The private key of an HD account (BIP-44 Ethereum path, index `index`) of a mnemonic. */
export function mnemonicKey(mnemonic: string, index: number): Hex {
  return toHex(mnemonicToAccount(mnemonic, { addressIndex: index }).getHdKey().privateKey!);
}
