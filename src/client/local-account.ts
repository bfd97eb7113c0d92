// A local private-key account for the client SDK: viem's, except that signing a digest (what
// commands and queries use) runs in libsecp256k1 compiled to WebAssembly (tiny-secp256k1), about
// three times faster here than viem's @noble/curves (`npm run bench -- command-crypto`). Both sign
// by RFC 6979 with low s, so the signatures are the same bytes.
import * as ecc from "tiny-secp256k1";
import { type Hex, hexToBytes, type LocalAccount, serializeSignature, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

const SCALAR_BYTES = 32;

export function localAccount(privateKey: Hex): LocalAccount {
  const account = privateKeyToAccount(privateKey);
  const key = hexToBytes(privateKey);
  return {
    ...account,
    async sign({ hash }) {
      const { signature, recoveryId } = ecc.signRecoverable(hexToBytes(hash), key);
      return serializeSignature({
        r: toHex(signature.subarray(0, SCALAR_BYTES)),
        s: toHex(signature.subarray(SCALAR_BYTES)),
        yParity: recoveryId,
      });
    },
  };
}
