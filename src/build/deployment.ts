// What `anonify enclave build --platform P` writes beside the bundle for an operator to deploy, and
// the lines it prints about the measurement to allow-list. The simulated platform needs nothing
// more: its measurement is the bundle's hash. A hardware platform measures what runs the bundle
// (Gramine's enclave, a VM image), so the build writes what to build that from, and says how the
// value to allow is obtained: `<name>.deployment.json` and `.txt` always, and for gramine-sgx the
// manifest template (deploy-gramine.ts); for tdx and sev-snp the image's description (deploy-vm.ts).
import { writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { EnclavePlatformName } from "../enclave/platform.js";
import { gramineManifestTemplate, gramineName, gramineSteps, gramineTemplatePath } from "./deploy-gramine.js";
import { type DeployedBundle, vmDeployment, vmDeploymentText } from "./deploy-vm.js";
import type { EnclaveBundle } from "./enclave-bundle.js";

const DESCRIPTION_SUFFIX = ".deployment";

/** What was written, and the few lines the CLI prints about the measurement. */
export type Deployment = { files: string[]; allowList: string[] };

const stem = (bundlePath: string) => basename(bundlePath).replace(/\.[^.]*$/, "");

export function deployedBundle(bundle: EnclaveBundle): DeployedBundle {
  return {
    file: basename(bundle.path),
    // A build's measurement is its bundle's SHA-256 (enclave-bundle.ts), whatever the platform.
    sha256: bundle.measurement.slice(2),
    bytes: bundle.bytes,
    release: bundle.release,
    app: { name: bundle.app.name, id: bundle.app.id, codeHash: bundle.app.codeHash },
  };
}

/** The gramine-sgx description: the template, how to sign it, what MRENCLAVE and MRSIGNER are to the policy. */
function gramineDescription(bundle: DeployedBundle, template: string, name: string) {
  return {
    format: "anonify/deployment/v1",
    platform: "gramine-sgx",
    bundle,
    manifestTemplate: template,
    measurement: {
      verdictField: "measurement",
      covers:
        "MRENCLAVE: Gramine's loader and runtime, the manifest (with every trusted file's SHA-256: Node, its libraries, this bundle) and the enclave's configuration",
      onChain: "as it is (32 bytes)",
      howToGet: [...gramineSteps(name), "anonify policy allow-measurement MR_ENCLAVE"],
    },
    signer: `MRSIGNER (the verdict's signerMeasurement) is the SHA-256 of ENCLAVE_KEY.pem's modulus: it is not allow-listed, but sealing under the signer policy (keys/_sgx_mrsigner) opens for any enclave that key signs on the same CPU, so the key is the deployment's own and kept offline`,
    reproducible:
      "MRENCLAVE depends on the Gramine package, the node binary and the two system libraries of the signing machine: sign once, in a pinned image, and run the same files everywhere (Gramine checks each trusted file's hash at run time)",
    reportData:
      "the enclave's 32-byte binding (its keys, chain id, contract), zero-padded to 64 bytes, written to /dev/attestation/user_report_data",
    notTested: [
      "no SGX machine and no Gramine here: the template was checked as TOML and against Gramine's manifest schema, never rendered by gramine-manifest, signed or run",
      "the gramine-sgx adapter was tested only over a plain directory playing /dev/attestation",
      "anonify node start --platform gramine-sgx was tested only with a test stand-in for gramine-sgx (it checks the signed manifest's trusted files, as Gramine does, and runs Node), never with Gramine",
    ],
  };
}

function gramineText(d: ReturnType<typeof gramineDescription>): string {
  return [
    "Anonify enclave on Intel SGX under Gramine: what to deploy and what to allow",
    `bundle ${d.bundle.file}: sha256 ${d.bundle.sha256}, ${d.bundle.bytes} bytes, release ${d.bundle.release}, app ${d.bundle.app.name} (${d.bundle.app.id})`,
    `manifest template: ${d.manifestTemplate} (the bundle pinned by its sha256)`,
    "",
    "Beside them: `node` (the Node 20 binary to run, e.g. the official linux-x64 build checked against its SHASUMS256.txt) and an empty `data/`. Then:",
    ...d.measurement.howToGet.map((step, i) => `  ${i + 1}. ${step}`),
    `The contract and every member allow-list ${d.measurement.covers}; on chain ${d.measurement.onChain}.`,
    d.signer,
    d.reproducible,
    `Report data: ${d.reportData}.`,
    "Not tested here:",
    ...d.notTested.map((item) => `  - ${item}`),
    "",
  ].join("\n");
}

/** Refuses, before anything is built, a bundle path the platform's deployment cannot use. */
export function checkDeploymentOut(platform: EnclavePlatformName, bundlePath: string): void {
  if (platform === "gramine-sgx") gramineName(bundlePath);
}

/** Writes what platform `platform` deploys beside the bundle; nothing for sim. */
export function writeDeployment(platform: EnclavePlatformName, bundle: EnclaveBundle): Deployment {
  if (platform === "sim") return { files: [], allowList: [] };
  const described = deployedBundle(bundle);
  const base = join(dirname(bundle.path), `${stem(bundle.path)}${DESCRIPTION_SUFFIX}`);
  const files: string[] = [];
  const write = (path: string, text: string) => {
    writeFileSync(path, text);
    files.push(path);
  };
  if (platform === "gramine-sgx") {
    const { name, path } = gramineTemplatePath(bundle.path);
    write(path, gramineManifestTemplate(described));
    const description = gramineDescription(described, basename(path), name);
    write(`${base}.json`, `${JSON.stringify(description, null, 2)}\n`);
    write(`${base}.txt`, gramineText(description));
    return {
      files,
      allowList: [
        `Allow MRENCLAVE, which gramine-sgx-sign computes from this template: ${gramineSteps(name)[2]}`,
        `  then: anonify policy allow-measurement MR_ENCLAVE (not the bundle hash above)`,
      ],
    };
  }
  const description = vmDeployment(platform, described);
  write(`${base}.json`, `${JSON.stringify(description, null, 2)}\n`);
  write(`${base}.txt`, vmDeploymentText(description));
  return {
    files,
    allowList: [
      `Allow the ${platform} measurement of the VM image that runs this bundle (not the bundle hash above): ${basename(`${base}.txt`)} says how it is computed`,
      ...(platform === "tdx"
        ? [`  RTMR3 after extending this bundle's event: ${description.bundleBinding[1]?.rtmr3}`]
        : []),
    ],
  };
}
