// For tests only: the host's side of an emulated TEE, for enclave processes of a test build whose
// configfs-tsm files are the emulated kernel of test-configfs.ts. It makes the tree the kernel would
// have (`<root>/sys/kernel/config/tsm/report`) and serves the quote service on `<root>/qgs.sock`
// (test-configfs.ts says the exchange): each request's inblob gets the evidence the test's `answer`
// makes for it, e.g. a TDX quote signed by a test PKI (`tdxAnswer`), or an SEV-SNP report signed by
// a test VCEK with the certificate table as `auxblob` (`sevSnpAnswer`). Any number of enclave
// processes may share one tree (each makes its own entries), and the service answers them all.
import { mkdir, rm } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import type { TdxTestPki } from "../../attestation/dcap/test-pki.js";
import { makeTdxQuote, type TdRegisters } from "../../attestation/dcap/test-quote.js";
import type { SevSnpTestPki } from "../../attestation/sev-snp/test-pki.js";
import { makeSevSnpReport, type SnpGuest, sevSnpCertTable } from "../../attestation/sev-snp/test-report.js";
import { TSM_INBLOB_BYTES, TSM_REPORT_DIR } from "./configfs-tsm.js";
import { QGS_SOCKET } from "./test-configfs.js";

export type QuoteAnswer = { outblob: Uint8Array; auxblob?: Uint8Array };

export type QuoteService = {
  root: string;
  /** Every inblob answered, in order. */
  readonly answered: Uint8Array[];
  close(): Promise<void>;
};

const SIZE_FIELD = 4;

/** A TDX quote v4 from `pki` for each inblob, from the TD `td()` names at the time. */
export const tdxAnswer =
  (pki: TdxTestPki, td: () => TdRegisters) =>
  async (inblob: Uint8Array): Promise<QuoteAnswer> => ({ outblob: await makeTdxQuote(pki, inblob, td()) });

/** An SEV-SNP report from `pki`'s VCEK for each inblob, from the guest `guest()` names, and its certificates. */
export const sevSnpAnswer =
  (pki: SevSnpTestPki, guest: () => SnpGuest) =>
  async (inblob: Uint8Array): Promise<QuoteAnswer> => ({
    outblob: await makeSevSnpReport(pki, inblob, guest()),
    auxblob: sevSnpCertTable(pki),
  });

/** The tree under `root` and its quote service, answering with `answer`. */
export async function startQuoteService(
  root: string,
  answer: (inblob: Uint8Array) => Promise<QuoteAnswer>,
): Promise<QuoteService> {
  await mkdir(join(root, TSM_REPORT_DIR), { recursive: true });
  const socket = join(root, QGS_SOCKET);
  await rm(socket, { force: true });
  const answered: Uint8Array[] = [];
  const serve = (connection: Socket) => {
    const chunks: Buffer[] = [];
    connection.on("data", (chunk: Buffer) => chunks.push(chunk));
    connection.on("error", () => connection.destroy());
    connection.on("end", async () => {
      const inblob = new Uint8Array(Buffer.concat(chunks));
      // The kernel pads a shorter inblob with zeros; a longer one never reaches the driver.
      const padded = new Uint8Array(TSM_INBLOB_BYTES);
      padded.set(inblob.subarray(0, TSM_INBLOB_BYTES));
      try {
        const { outblob, auxblob = new Uint8Array(0) } = await answer(padded);
        answered.push(padded);
        const size = Buffer.alloc(SIZE_FIELD);
        size.writeUInt32LE(outblob.length);
        connection.end(Buffer.concat([size, outblob, auxblob]));
      } catch {
        connection.end(); // an empty answer: the kernel's read fails (EIO)
      }
    });
  };
  // Half open: the request ends with the client's end, and the answer still goes back after it.
  const server = createServer({ allowHalfOpen: true }, serve);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, resolve);
  });
  return {
    root,
    answered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
