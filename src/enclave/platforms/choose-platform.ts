// The platform an enclave process runs on, from its measured build configuration alone: nothing the
// host passes at run time chooses it or where its adapter reads. A test build may name a directory
// that plays the kernel (`emulatedRoot`): the adapters then read the same paths under it, and since
// the configuration is measured, such a build is another measurement than any real deployment's.
import { join } from "node:path";
import { ENCLAVE_PLATFORMS, type EnclavePlatformName, type TeePlatform } from "../platform.js";
import { SimPlatform } from "../sim-platform.js";
import { TSM_REPORT_DIR } from "./configfs-tsm.js";
import { GRAMINE_ATTESTATION_DIR, GramineSgxPlatform } from "./gramine-sgx-platform.js";
import { TsmPlatform } from "./tsm-platform.js";

export type PlatformPlace = {
  /** The sim platform's directory (its secret and quoting key); the host gives it with --data-dir. */
  dataDir: string;
  /** From the build configuration only: a directory whose tree stands for the kernel's (tests). */
  emulatedRoot?: string;
};

export function platformFor(
  name: EnclavePlatformName,
  { dataDir, emulatedRoot }: PlatformPlace,
): TeePlatform {
  const under = (real: string) => (emulatedRoot === undefined ? real : join(emulatedRoot, real));
  switch (name) {
    case "sim":
      return new SimPlatform(dataDir);
    case "tdx":
    case "sev-snp":
      return new TsmPlatform({ platform: name, reportDir: under(TSM_REPORT_DIR) });
    case "gramine-sgx":
      return new GramineSgxPlatform({ attestationDir: under(GRAMINE_ATTESTATION_DIR) });
    default:
      throw new Error(
        `platform ${JSON.stringify(name satisfies never)} is none of ${ENCLAVE_PLATFORMS.join(", ")}`,
      );
  }
}
