// What an operator deploys on a confidential VM (TDX, SEV-SNP): a VM image that runs the bundle, and
// how the measurement the contract allow-lists is computed for that image. The hardware measures the
// VM, not the bundle: the bundle is allowed only through the image that carries it. So the build
// writes, beside the bundle, a description (JSON, and its text) of what the measurement covers and
// the values our part contributes, computed here: deterministic, with no path of the build machine.
//
// TDX: the verdict's measurement is SHA-256 over MRTD, RTMR0-3 and the owner/config registers
// (src/attestation/dcap/tdx-measurement.ts). MRTD is the virtual firmware, RTMR0 its configuration
// (vCPUs and memory among it), RTMR1 the kernel, RTMR2 the command line and initrd: those are the
// image's. The bundle enters either through the image's measured root file system (dm-verity, its
// root hash on the command line: RTMR3 stays zero), or through RTMR3, extended by the image's measured
// init before the enclave starts. Linux exposes RTMR extension as
// /sys/devices/virtual/misc/tdx_guest/measurements/rtmr3:sha384 since 6.16 (its ABI document,
// sysfs-devices-virtual-misc-tdx_guest: a 48-byte write extends); Phala's dstack extends RTMR3 the
// same way with its app's compose hash (docs/attestation-tdx.md, tdx-attest). The enclave never
// extends RTMR3 itself: a bundle measuring itself would let any bundle claim to be this one.
//
// SEV-SNP: the verdict's measurement is the 48-byte MEASUREMENT, the launch digest of the initial
// guest memory and vCPU state; the contract holds its SHA-256. No register is extended after launch,
// so the bundle is covered only if it is in what is launched: with measured direct boot (QEMU's
// kernel-hashes=on and an OVMF built for it) the kernel, initrd and command line are; virtee's
// sev-snp-measure computes the digest from the same files.
import { sha384 } from "@noble/hashes/sha2.js";
import { concatBytes } from "@noble/hashes/utils.js";
import { bytesToHex, hexToBytes } from "viem";
import { TSM_KERNEL } from "../enclave/platforms/configfs-tsm.js";

/** Domain separation for the one event extended into RTMR3: the bundle's SHA-256 under this tag. */
export const RTMR3_EVENT_TAG = "anonify/rtmr3/enclave-bundle/v1";
export const TDX_RTMR3_FILE = "/sys/devices/virtual/misc/tdx_guest/measurements/rtmr3:sha384";
export const TDX_RTMR_KERNEL = "Linux 6.16";
/** An RTMR, and what one extension writes: SHA-384. */
export const RTMR_BYTES = 48;
const BUNDLE_HASH_BYTES = 32;

/** What a description names of the build. */
export type DeployedBundle = {
  /** The bundle's file name (beside the description). */
  file: string;
  /** Hex, no 0x. */
  sha256: string;
  bytes: number;
  release: string;
  app: { name: string; id: string; codeHash: string };
};

/** RTMR3 after its one extension: SHA-384(48 zero bytes ‖ event), event = SHA-384(tag ‖ bundle SHA-256). */
export function rtmr3ForBundle(bundleSha256Hex: string): { event: string; rtmr3: string } {
  const bundleHash = hexToBytes(`0x${bundleSha256Hex}`);
  if (bundleHash.length !== BUNDLE_HASH_BYTES) throw new TypeError("a bundle hash is 32 bytes");
  const event = sha384(concatBytes(new TextEncoder().encode(RTMR3_EVENT_TAG), bundleHash));
  const rtmr3 = sha384(concatBytes(new Uint8Array(RTMR_BYTES), event));
  return { event: bytesToHex(event).slice(2), rtmr3: bytesToHex(rtmr3).slice(2) };
}

/** The verdict's field every member and the contract compare, and what it covers. */
type Measurement = { verdictField: "measurement"; covers: string; onChain: string; howToGet: string[] };
type Binding = { name: string; how: string; [value: string]: string | string[] };

export type VmDeployment = {
  format: "anonify/deployment/v1";
  platform: "tdx" | "sev-snp";
  bundle: DeployedBundle;
  measurement: Measurement;
  /** Ways the bundle enters the measurement; the operator chooses one. */
  bundleBinding: Binding[];
  reportData: string;
  kernel: string;
  operatorChecks: string[];
  notTested: string[];
};

const REPORT_DATA =
  "the enclave's 32-byte binding (its signing key, HPKE key, chain id, contract), zero-padded to 64 bytes " +
  "(src/attestation/binding.ts): it names the enclave's keys, never the bundle, which only the measurement names";
const SAME_SHAPE =
  "every node of a deployment runs the same image on the same VM shape (vCPUs, memory): the shape is measured too, so each other shape is another value to allow";
const ONE_PROCESS =
  "nothing in the VM but the image's own software: whatever else runs there as root can read the enclave's memory";

function tdx(bundle: DeployedBundle): Omit<VmDeployment, "format" | "platform" | "bundle"> {
  const { event, rtmr3 } = rtmr3ForBundle(bundle.sha256);
  return {
    measurement: {
      verdictField: "measurement",
      covers:
        "the combined TDX measurement: SHA-256 over a tag, MRTD, RTMR0-3, MRCONFIGID, MROWNER and MROWNERCONFIG as in the TD report (src/attestation/dcap/tdx-measurement.ts)",
      onChain: "as it is (32 bytes)",
      howToGet: [
        "boot the image once on the machine type it will run on and take a quote (the node's status names the enclave's measurement)",
        "anonify attest verify QUOTE --format tdx --collateral COLLATERAL.json: the measurement and each register, in hashing order",
        "check MRTD against the firmware's published value (Google Cloud publishes signed launch endorsements of its TDX firmware) and RTMR0-2 against the image's event log replayed",
        "check RTMR3 against the bundle binding below, then allow it: anonify policy allow-measurement HEX",
      ],
    },
    bundleBinding: [
      {
        name: "measured-rootfs",
        how: "the bundle (with Node and the anonify package) inside a dm-verity root file system whose root hash is on the kernel command line (RTMR2); RTMR3 is not extended",
        rtmr3: "0".repeat(RTMR_BYTES * 2),
      },
      {
        name: "rtmr3",
        how: `Node and the anonify package in the measured root file system as above, the bundle beside it (e.g. on a data disk); the image's measured init extends RTMR3 once, with the event below, before it starts the enclave, and nothing else extends RTMR3 (${TDX_RTMR_KERNEL} or later for the interface)`,
        interface: TDX_RTMR3_FILE,
        eventTag: RTMR3_EVENT_TAG,
        event,
        rtmr3,
        extend: `printf '%s' ${event} | xxd -r -p > ${TDX_RTMR3_FILE}`,
        eventFromBundle: `{ printf '%s' '${RTMR3_EVENT_TAG}'; sha256sum ${bundle.file} | cut -c1-64 | xxd -r -p; } | sha384sum`,
      },
    ],
    reportData: REPORT_DATA,
    kernel: `${TSM_KERNEL} or later with CONFIG_TSM_REPORTS and the tdx_guest driver (configfs-tsm answers with provider tdx_guest)`,
    operatorChecks: [
      "d=/sys/kernel/config/tsm/report/check; mkdir $d && cat $d/provider && rmdir $d   # tdx_guest",
      `the quote's RTMR3 is the chosen binding's value (${rtmr3.slice(0, 16)}... for rtmr3)`,
      SAME_SHAPE,
      ONE_PROCESS,
    ],
    notTested: [
      "no TDX machine here: the RTMR3 extension and the checks above were never run; the expected values were computed, and the event recipe run on a file, by the build's tests",
      "the tdx adapter was tested only over an emulated configfs-tsm tree (src/enclave/platforms/configfs-tsm.test.ts)",
    ],
  };
}

function sevSnp(bundle: DeployedBundle): Omit<VmDeployment, "format" | "platform" | "bundle"> {
  return {
    measurement: {
      verdictField: "measurement",
      covers:
        "MEASUREMENT: the 48-byte launch digest of the guest's initial memory (firmware; with measured direct boot the kernel, initrd and command line hashes) and vCPU state",
      onChain: "its SHA-256 (the contract holds 32 bytes)",
      howToGet: [
        "sev-snp-measure --mode snp --vcpus N --vcpu-type TYPE --ovmf OVMF.fd --kernel vmlinuz --initrd initrd.img --append 'CMDLINE' (virtee/sev-snp-measure)",
        "or boot once and read it: anonify attest verify REPORT --format sev-snp --certs CHAIN.pem --json (measurement)",
        "allow SHA-256 of the 48 bytes: anonify policy allow-measurement HEX (printf HEX | xxd -r -p | sha256sum)",
      ],
    },
    bundleBinding: [
      {
        name: "measured-direct-boot",
        how: `the bundle ${bundle.file} (sha256 ${bundle.sha256}) with Node and the anonify package inside the initrd, or in a dm-verity root file system whose root hash is on the command line; the VM launched with measured direct boot (QEMU: sev-snp-guest kernel-hashes=on, OVMF built as OvmfPkg/AmdSev)`,
      },
    ],
    reportData: REPORT_DATA,
    kernel: `${TSM_KERNEL} or later with CONFIG_TSM_REPORTS and the sev-guest driver (provider sev_guest), the guest at VMPL0`,
    operatorChecks: [
      "d=/sys/kernel/config/tsm/report/check; mkdir $d && cat $d/provider && rmdir $d   # sev_guest",
      "the report's measurement is the one sev-snp-measure computed from the very files launched",
      "the guest policy's DEBUG bit is clear (the production policy refuses a debug guest)",
      SAME_SHAPE,
      ONE_PROCESS,
      "where the VM boots from its disk through the provider's firmware (AWS, Google Cloud), the launch digest names that firmware only, not the kernel nor the bundle: it binds no bundle, and allowing it admits any software on that firmware",
    ],
    notTested: [
      "no SEV-SNP machine here: measured direct boot and sev-snp-measure were not run; the verifier was tested on real reports from other projects (test/fixtures/sev-snp)",
      "the sev-snp adapter was tested only over an emulated configfs-tsm tree",
    ],
  };
}

export function vmDeployment(platform: "tdx" | "sev-snp", bundle: DeployedBundle): VmDeployment {
  const body = platform === "tdx" ? tdx(bundle) : sevSnp(bundle);
  return { format: "anonify/deployment/v1", platform, bundle, ...body };
}

/** The description as text: what an operator reads first. */
export function vmDeploymentText(d: VmDeployment): string {
  const lines = [
    `Anonify enclave on ${d.platform === "tdx" ? "Intel TDX" : "AMD SEV-SNP"}: what to deploy and what to allow`,
    `bundle ${d.bundle.file}: sha256 ${d.bundle.sha256}, ${d.bundle.bytes} bytes, release ${d.bundle.release}, app ${d.bundle.app.name} (${d.bundle.app.id})`,
    "",
    `The contract and every member allow-list the verdict's \`${d.measurement.verdictField}\` (${d.measurement.covers}); on chain ${d.measurement.onChain}.`,
    "The hardware measures the VM image, not the bundle: the bundle is allowed through the image that carries it.",
    ...d.measurement.howToGet.map((step, i) => `  ${i + 1}. ${step}`),
    "",
    "How the bundle enters the measurement (choose one):",
    ...d.bundleBinding.flatMap(({ name, how, ...values }) => [
      `  ${name}: ${how}`,
      ...Object.entries(values).map(([key, value]) => `    ${key}: ${String(value)}`),
    ]),
    "",
    `Report data: ${d.reportData}.`,
    `Kernel: ${d.kernel}.`,
    "Check:",
    ...d.operatorChecks.map((check) => `  - ${check}`),
    "Not tested here:",
    ...d.notTested.map((item) => `  - ${item}`),
  ];
  return `${lines.join("\n")}\n`;
}
