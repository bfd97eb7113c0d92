// Collateral as anyone publishes it on chain, for every member to judge DCAP quotes against. It is
// Intel-signed, so who publishes it does not matter. An enclave keeps a set only if it verifies to
// the pinned Intel root as a whole at the instant its newest part was issued (so a set whose parts
// were never valid together is refused, and what is kept does not depend on any clock: every
// enclave that read the same events holds the same sets). Per platform, FMSPC and PCK CA it keeps
// the freshest set: one replaces the held one only if none of its parts is older and one is newer,
// so nobody can bring an older TCB info or CRL back. Windows against the enclave's clock are checked
// where a quote is judged (verify.ts).
import { sha256 } from "@noble/hashes/sha2.js";
import { VerificationError } from "../verdict.js";
import { toHex } from "./bytes.js";
import { type Collateral, parseCollateral } from "./collateral.js";
import { chainFromPem, verifyCollateral } from "./collateral-pki.js";
import { parseCrl } from "./crl.js";
import type { Certificate } from "./pki.js";
import { parseQuote } from "./quote.js";
import { readFmspc } from "./sgx-extension.js";
import { type DcapPlatform, pinnedRoot } from "./verify.js";

/** What a member holds of one published set (the record itself is kept beside it). */
export type CollateralHead = {
  /** `platform:fmspc:ca`: the quotes this set judges (`collateralKeyOfQuote`). */
  key: string;
  platform: DcapPlatform;
  fmspc: string;
  /** When each part was issued, ms since the epoch: TCB info, QE identity, PCK CRL, root CA CRL. */
  issued: number[];
  /** The older of TCB info's and QE identity's, when both name one. */
  tcbEvaluationDataNumber: number | undefined;
  /** The earlier of TCB info's and QE identity's next update: past it, quotes no longer verify. */
  nextUpdate: string;
};

/** TCB info `id` by platform (TCB info v3). */
const TCB_INFO_IDS: Record<string, DcapPlatform> = { SGX: "sgx", TDX: "tdx" };
const FMSPC_PATTERN = /^[0-9a-fA-F]{12}$/;
/** Enough of a SHA-256 to tell Intel's two PCK CAs (Processor, Platform) apart. */
const CA_ID_HEX = 16;

const caId = (issuerName: Uint8Array): string => toHex(sha256(issuerName)).slice(0, CA_ID_HEX);

/**
 * What a published set (PCS JSON shape) says of itself, read without checking a signature: which
 * quotes it judges and when its parts were issued. Cheap next to `verifyPublishedCollateral`, so that
 * a set that could not be held anyway (not fresher than the one held) is refused before it is verified.
 */
export function readCollateralHead(input: unknown): { collateral: Collateral; head: CollateralHead } {
  const collateral = parseCollateral(input);
  const platform = TCB_INFO_IDS[collateral.tcbInfo.id];
  if (!platform)
    throw new VerificationError(`collateral: TCB info id ${collateral.tcbInfo.id} is not SGX or TDX`);
  const fmspc = collateral.tcbInfo.raw.fmspc;
  if (typeof fmspc !== "string" || !FMSPC_PATTERN.test(fmspc))
    throw new VerificationError("collateral: TCB info fmspc missing or malformed");
  const pckCrl = parseCrl(collateral.pckCrl, "PCK CRL");
  const rootCrl = parseCrl(collateral.rootCaCrl, "root CA CRL");
  const { tcbInfo, qeIdentity } = collateral;
  const numbers = [tcbInfo.tcbEvaluationDataNumber, qeIdentity.tcbEvaluationDataNumber];
  const head: CollateralHead = {
    key: `${platform}:${fmspc.toLowerCase()}:${caId(pckCrl.issuer)}`,
    platform,
    fmspc: fmspc.toLowerCase(),
    issued: [tcbInfo.issueDate, qeIdentity.issueDate, pckCrl.thisUpdate, rootCrl.thisUpdate].map((d) =>
      d.getTime(),
    ),
    tcbEvaluationDataNumber: numbers.some((n) => n === undefined)
      ? undefined
      : Math.min(...(numbers as number[])),
    nextUpdate: new Date(
      Math.min(tcbInfo.nextUpdate.getTime(), qeIdentity.nextUpdate.getTime()),
    ).toISOString(),
  };
  return { collateral, head };
}

/** Verifies a published set (PCS JSON shape) to the pinned root, and names the quotes it judges. */
export function verifyPublishedCollateral(input: unknown, rootCertificatePem?: string): CollateralHead {
  const { collateral, head } = readCollateralHead(input);
  // At the instant its newest part was issued: the set must be whole then.
  verifyCollateral(collateral, pinnedRoot(rootCertificatePem), new Date(Math.max(...head.issued)));
  return head;
}

/** The key of the collateral that judges this quote: its platform, its PCK certificate's FMSPC and CA. */
export function collateralKeyOfQuote(platform: DcapPlatform, evidence: Uint8Array): string {
  let pck: Certificate;
  try {
    pck = chainFromPem(parseQuote(evidence).pckChainPem, "PCK chain").at(-1)!;
  } catch (error) {
    if (error instanceof VerificationError) throw error;
    throw new VerificationError(`${platform} quote: malformed evidence`, { cause: error });
  }
  return `${platform}:${readFmspc(pck)}:${caId(pck.issuer)}`;
}

/** Whether `candidate` may replace `held`: no part older, one part newer. */
export function isFresher(
  candidate: Pick<CollateralHead, "issued">,
  held: Pick<CollateralHead, "issued">,
): boolean {
  const parts = candidate.issued.map((t, i) => t - held.issued[i]!);
  return parts.every((d) => d >= 0) && parts.some((d) => d > 0);
}
