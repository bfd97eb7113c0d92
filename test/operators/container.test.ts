// The ways to run a node, tried: the Dockerfile built with podman from this checkout and a node run
// from the image against a chain and attestation service the test starts (where podman can run
// containers here: else the test says why and skips); the systemd unit checked by systemd-analyze;
// and every flag the image, the compose file and the unit give a command held against its --help.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type Address, createPublicClient, http } from "viem";
import { parse } from "yaml";
import { type Anvil, anvilBinary, freePort, startAnvil } from "../../src/chain/anvil.js";
import { anonifyAbi } from "../../src/chain/generated/contracts.js";
import { readNetworkProfile } from "../../src/client/network-profile.js";
import { type ChildCommand, startChildCommand } from "../../src/devnet/child-command.js";
import { anvilKey } from "../support/chain.js";
import {
  flagsIn,
  helpFlags,
  type Invocation,
  invocations,
  shellWords,
  unknownFlags,
} from "../support/cli-flags.js";
import { composeSkip, composeUp } from "../support/compose-run.js";
import { IMAGE_UID } from "../support/container-base.js";
import { buildImage } from "../support/container-image.js";
import { runContainerNode, STOP_TIMEOUT_S } from "../support/container-node.js";
import { filesUnder } from "../support/files.js";
import { findPodman, type Podman } from "../support/podman.js";
import { until } from "../support/wait.js";
import { anonify, CLI, nodeStatus } from "./operator-net.js";

const ROOT = join(import.meta.dirname, "../..");
const DOCKERFILE = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const COMPOSE = parse(readFileSync(join(ROOT, "deploy/compose.yaml"), "utf8")) as Compose;
const UNIT_PATH = join(ROOT, "deploy/anonify-node.service");
const UNIT = readFileSync(UNIT_PATH, "utf8");
const BUNDLE = join(ROOT, "dist/enclave/enclave.mjs");
/** The lockfile's development-only packages named in package.json: none may be in the image. */
const readJson = (file: string) => JSON.parse(readFileSync(join(ROOT, file), "utf8"));
const LOCKED = readJson("package-lock.json").packages as Record<string, { dev?: boolean }>;
const DEV_ONLY = Object.keys(readJson("package.json").devDependencies).filter(
  (name) => LOCKED[`node_modules/${name}`]?.dev,
);
/** Run in the container: what /opt/anonify holds, and which development packages are there. */
const IMAGE_CONTENTS = `const fs = require("fs"); const dev = ${JSON.stringify(DEV_ONLY)};
console.log(JSON.stringify({ top: fs.readdirSync("/opt/anonify").sort(),
  dev: dev.filter((d) => fs.existsSync("/opt/anonify/node_modules/" + d)) }))`;
const SYSTEMD_ANALYZE = process.env.SYSTEMD_ANALYZE_PATH ?? "/usr/bin/systemd-analyze";
const OWNER_ONLY = 0o700;
/** `systemd-analyze security`'s exposure, 0 (locked down) to 10: the unit scores 1.5; 2 is its bound. */
const MAX_EXPOSURE = 2;
/** podman-compose starts four containers one after another, then the node registers. */
const COMPOSE_READY_MS = 120_000;
const run = promisify(execFile);

type ComposeStatus = { member: boolean; enclave: Address; contract: Address; chainRpc: string };

type Service = {
  image: string;
  entrypoint?: string[];
  command?: string[];
  volumes?: string[];
  secrets?: string[];
};
type Compose = {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { file: string }>;
};

/** The Dockerfile's instruction `name` (the last one), its argument as written. */
const instruction = (name: string) =>
  [...DOCKERFILE.matchAll(new RegExp(`^${name} (.+)$`, "gm"))].at(-1)![1]!;
const DATA_VOLUME = instruction("VOLUME");
/** The image's entrypoint: `/bin/sh -c "exec node .../anonify.mjs node start ... \"$@\""`. */
const ENTRYPOINT = JSON.parse(instruction("ENTRYPOINT")) as string[];
/** A systemd unit's setting (the first one). */
const setting = (name: string) => UNIT.match(new RegExp(`^${name}=(.*)$`, "m"))?.[1];

const podman = await findPodman();
const noCompose = typeof podman === "string" ? podman : await composeSkip(podman);

// Its two tests share the image and nothing else: they run side by side.
describe("the container image", { skip: typeof podman === "string" ? podman : false, concurrency: 2 }, () => {
  const p = podman as Podman;
  const name = `anonify-test-${process.pid}-${randomBytes(4).toString("hex")}`;
  const image = `localhost/anonify-node:${name}`;
  let dir = "";
  let profile = "";
  let anvil: Anvil | undefined;
  let service: ChildCommand<{ url: string; signer: string }> | undefined;

  /** The chain, its contract and the attestation service the node in the container uses, on this machine. */
  const startNetwork = async () => {
    dir = mkdtempSync(join(tmpdir(), "anonify-container-"));
    profile = join(dir, "network.json");
    anvil = await startAnvil();
    service = await startChildCommand(CLI, [
      ...["attestation-service", "start", "--policy", "development"],
      ...["--data-dir", join(dir, "attestation"), "--json"],
    ]);
    const ownerKey = join(dir, "owner.key");
    writeFileSync(ownerKey, `${anvilKey(0)}\n`, { mode: 0o600 });
    await anonify(
      ...["deploy", "--rpc", anvil.rpcUrl, "--key", ownerKey, "--out", profile, "--json"],
      ...["--trust-signer", service.ready.signer, "--debug-allowed", "--allow-measurement", "default"],
    );
    // The gas key goes in as a podman secret, readable by the image's user alone.
    const gasKey = join(dir, "gas.key");
    writeFileSync(gasKey, `${anvilKey(1)}\n`, { mode: 0o600 });
    await p.run(["secret", "create", name, gasKey]);
    await p.run(["volume", "create", name]);
  };
  let bundleMeasurement = "";
  before(async () => {
    bundleMeasurement = `0x${createHash("sha256").update(readFileSync(BUNDLE)).digest("hex")}`;
    await Promise.all([buildImage(p, image), startNetwork()]);
  });

  after(async () => {
    const quietly = (args: string[]) => p.run(args).catch(() => undefined);
    await quietly(["rm", "--force", "--time", "0", name]);
    await quietly(["volume", "rm", "--force", name]);
    await quietly(["secret", "rm", name]);
    await quietly(["rmi", "--force", image]);
    await service?.stop();
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("a node runs from it as the image's user, registers its enclave, and resumes from its volume", async () => {
    const port = await freePort();
    // Host networking: the chain and the attestation service listen on this machine's loopback.
    const args = [
      "--network",
      "host",
      ...p.limits,
      "-e",
      `ANONIFY_PORT=${port}`,
      "-v",
      `${name}:${DATA_VOLUME}`,
    ]
      .concat(["-v", `${profile}:/etc/anonify/network.json:ro`])
      .concat(["--secret", `${name},target=gas-key,uid=${IMAGE_UID},mode=0400`, image])
      .concat(["--host", "127.0.0.1", "--network", "/etc/anonify/network.json"])
      .concat(["--attestation", service!.ready.url, "--key", "/run/secrets/gas-key"]);
    const first = await runContainerNode(p, name, args);
    const url = `http://127.0.0.1:${port}`;
    assert.equal(first.ready.registered, "now");
    await until(
      "the node in the container to be ready",
      async () => (await fetch(`${url}/v1/ready`)).ok || undefined,
    );
    const status = await nodeStatus(url);
    assert.equal(status.enclave, first.ready.enclave);
    assert.equal(status.member, true);
    // Its enclave is this checkout's bundle, byte for byte (a measurement is the bundle's SHA-256).
    assert.equal(status.measurement, bundleMeasurement);
    // The image holds the built package and its production dependencies, nothing else.
    const { stdout: held } = await p.run(["exec", name, "node", "-e", IMAGE_CONTENTS]);
    assert.deepEqual(JSON.parse(held), { top: ["bin", "dist", "node_modules", "package.json"], dev: [] });
    // The chain, not the node, says the enclave is registered.
    const chain = createPublicClient({ transport: http(anvil!.rpcUrl) });
    const { contract } = readNetworkProfile(profile);
    const active = await chain.readContract({
      address: contract,
      abi: anonifyAbi,
      functionName: "isActive",
      args: [status.enclave],
    });
    assert.equal(active, true);
    // The image's own healthcheck (on /v1/ready) says healthy: podman exits 0 only then.
    await p.run(["healthcheck", "run", name]);

    // Every process in it (the host and its enclave) runs as the image's user, on the host too.
    const { stdout: top } = await p.run(["top", name, "hpid", "user"]);
    const processes = top
      .trim()
      .split("\n")
      .slice(1)
      .map((line) => line.trim().split(/\s+/));
    assert.ok(processes.length >= 2, `the host and its enclave:\n${top}`);
    for (const [hostPid, user] of processes) {
      assert.equal(user, "node");
      const uids = readFileSync(`/proc/${hostPid}/status`, "utf8").match(/^Uid:\s+(.*)$/m)![1]!;
      assert.deepEqual(
        uids.split(/\s+/).map(Number),
        Array(4).fill(IMAGE_UID),
        `process ${hostPid}: real, effective, saved, fs`,
      );
    }

    // The data directory is the volume, the user's alone; the gas key is not in it.
    const { stdout: mount } = await p.run(["volume", "inspect", "--format", "{{.Mountpoint}}", name]);
    const volume = statSync(mount.trim());
    assert.equal(volume.uid, IMAGE_UID);
    assert.equal(volume.mode & 0o777, OWNER_ONLY);
    assert.ok(existsSync(join(mount.trim(), "sealed-identity.hex")));
    const keyHex = anvilKey(1).slice(2);
    for (const file of filesUnder(mount.trim()))
      assert.ok(!readFileSync(file, "latin1").includes(keyHex), file);

    // SIGTERM (podman stop) reaches the node, which closes and flushes: a clean exit.
    await p.run(["stop", "--time", String(STOP_TIMEOUT_S), name]);
    assert.equal(await first.exited, 0, first.logs.join("\n"));
    assert.ok(existsSync(join(mount.trim(), "sealed-state.hex")));

    const second = await runContainerNode(p, name, args);
    assert.equal(second.ready.registered, "already");
    assert.equal(second.ready.enclave, first.ready.enclave);
    await until("the resumed node to be ready", async () => (await fetch(`${url}/v1/ready`)).ok || undefined);
    await p.run(["stop", "--time", String(STOP_TIMEOUT_S), name]);
    assert.equal(await second.exited, 0, second.logs.join("\n"));
  });

  test("deploy/compose.yaml brings up a chain, an attestation service, the contract and a ready node", {
    skip: noCompose,
  }, async () => {
    const composeDir = mkdtempSync(join(tmpdir(), "anonify-compose-"));
    const compose = await composeUp(p, image, `${name}-compose`, composeDir);
    try {
      const ready = () =>
        fetch(`${compose.nodeUrl}/v1/ready`).then(
          (r) => r.ok || undefined,
          () => undefined,
        );
      await until("the compose file's node to be ready", ready, COMPOSE_READY_MS).catch(async (error) => {
        throw new Error(
          `${error}\ndeploy: ${await compose.logs("deploy")}\nnode: ${await compose.logs("node")}`,
        );
      });
      const status = (await (await fetch(`${compose.nodeUrl}/v1/status`)).json()) as ComposeStatus;
      assert.equal(status.member, true);
      // Clients are told of the published chain, not the compose network's http://chain:8545.
      assert.equal(status.chainRpc, compose.chainUrl);
      const chain = createPublicClient({ transport: http(compose.chainUrl) });
      const args = [status.enclave] as const;
      const active = await chain.readContract({
        address: status.contract,
        abi: anonifyAbi,
        functionName: "isActive",
        args,
      });
      assert.equal(active, true);
    } finally {
      await compose.down();
      rmSync(composeDir, { recursive: true, force: true });
    }
  });
});

/** Fails naming each flag some invocation gives that its command does not take. */
async function assertRealFlags(where: string, used: readonly Invocation[]): Promise<void> {
  assert.ok(used.length > 0, `${where} runs no anonify command`);
  for (const invocation of used) {
    assert.ok(
      invocation.flags.length > 0,
      `${where}: anonify ${invocation.command.join(" ")} with no flags read`,
    );
    assert.deepEqual(await unknownFlags(invocation), [], `${where}: anonify ${invocation.command.join(" ")}`);
  }
}

describe("the deployment files name only real flags and paths", () => {
  test("the image's entrypoint is `anonify node start` on the image's data volume and port", async () => {
    assert.deepEqual(ENTRYPOINT.slice(0, 2), ["/bin/sh", "-c"]);
    const words = shellWords(ENTRYPOINT[2]!);
    const [start] = invocations(words);
    assert.deepEqual(start?.command, ["node", "start"]);
    assert.equal(words[words.indexOf("--data-dir") + 1], DATA_VOLUME);
    assert.equal(words[words.indexOf("--port") + 1], "$ANONIFY_PORT");
    await assertRealFlags("Dockerfile ENTRYPOINT", [start!]);
    // The check itself: a flag no command takes is named.
    assert.deepEqual(await unknownFlags({ command: ["node", "start"], flags: ["--port", "--prot"] }), [
      "--prot",
    ]);
  });

  test("the compose file: one image, declared volumes and secrets, the image's data volume, real flags", async () => {
    const { services } = COMPOSE;
    assert.deepEqual(Object.keys(services).sort(), ["attestation", "chain", "deploy", "node"]);
    for (const [name, s] of Object.entries(services)) {
      assert.equal(s.image, "anonify-node", `${name}'s image`);
      for (const volume of s.volumes ?? []) {
        const [source, target] = volume.split(":");
        assert.ok(source! in COMPOSE.volumes, `${name}: volume ${source} is declared`);
        // Each writes to the path the image made its own user's (a new volume copies that owner).
        if (!volume.endsWith(":ro")) assert.equal(target, DATA_VOLUME, `${name} writes to ${volume}`);
      }
      for (const secret of s.secrets ?? [])
        assert.ok(COMPOSE.secrets[secret]?.file, `${name}: secret ${secret}`);
    }
    // The node: the image's entrypoint with these flags; its key one of its secrets.
    const node = services.node!;
    const nodeFlags: Invocation = {
      command: ["node", "start"],
      flags: node.command!.map((w) => w.split("=")[0]!),
    };
    await assertRealFlags("compose node", [nodeFlags]);
    assert.ok(node.command!.includes("--key=/run/secrets/gas-key") && node.secrets!.includes("gas-key"));
    assert.ok(node.volumes!.includes("network:/etc/anonify:ro"), "the node reads the profile deploy writes");
    await assertRealFlags(
      "compose attestation",
      invocations([...services.attestation!.entrypoint!, ...services.attestation!.command!]),
    );
    const deploy = invocations(shellWords(services.deploy!.command!.join(" ")));
    await assertRealFlags("compose deploy", deploy);
    assert.ok(deploy[0]!.flags.includes("--trust-signer") && services.deploy!.secrets!.includes("owner-key"));
    // The chain: Anvil from the image's node_modules, with flags this Anvil takes.
    const chain = services.chain!;
    assert.deepEqual(chain.entrypoint, ["/opt/anonify/node_modules/.bin/anvil"]);
    const anvilFlags = await helpFlags([anvilBinary()]);
    const unknown = chain.command!.map((w) => w.split("=")[0]!).filter((f) => !anvilFlags.has(f));
    assert.deepEqual(unknown, [], "anvil flags");
  });

  test("the systemd unit starts `anonify node start` with its credential and state directory, real flags", async () => {
    const execStart = shellWords(setting("ExecStart")!);
    assert.equal(execStart[0], "/usr/bin/node");
    const [start] = invocations(execStart);
    assert.deepEqual(start?.command, ["node", "start"]);
    await assertRealFlags("ExecStart", [start!]);
    // The key is the credential LoadCredential names; the data directory is StateDirectory.
    const [credential] = setting("LoadCredential")!.split(":");
    assert.equal(execStart[execStart.indexOf("--key") + 1], `%d/${credential}`);
    assert.equal(execStart[execStart.indexOf("--data-dir") + 1], `%S/${setting("StateDirectory")}`);
    // The example of the deployment's own flags, in its header, names real ones too.
    const example = UNIT.match(/^#\s+ANONIFY_NODE_ARGS=(.*)$/m)![1]!;
    await assertRealFlags("ANONIFY_NODE_ARGS", [
      { command: ["node", "start"], flags: flagsIn(shellWords(example)) },
    ]);
  });
});

const NO_SYSTEMD_ANALYZE = existsSync(SYSTEMD_ANALYZE)
  ? false
  : `no systemd-analyze at ${SYSTEMD_ANALYZE} (Debian's systemd; or set SYSTEMD_ANALYZE_PATH)`;

describe("the systemd unit", { skip: NO_SYSTEMD_ANALYZE }, () => {
  test("systemd-analyze verifies it without a word, scores it hardened, and refuses a broken copy", async () => {
    const verified = await run(SYSTEMD_ANALYZE, ["verify", UNIT_PATH]);
    const aboutUnit = (out: string) => out.split("\n").filter((l) => l.includes("anonify-node"));
    assert.deepEqual(aboutUnit(verified.stdout + verified.stderr), []);
    const { stdout: security } = await run(SYSTEMD_ANALYZE, ["security", "--offline=yes", UNIT_PATH]);
    const exposure = Number(security.match(/Overall exposure level for anonify-node\.service: ([\d.]+)/)![1]);
    assert.ok(exposure <= MAX_EXPOSURE, `exposure ${exposure}`);
    const dir = mkdtempSync(join(tmpdir(), "anonify-unit-"));
    try {
      const broken = join(dir, "anonify-node.service");
      writeFileSync(broken, UNIT.replace("ExecStart=/usr/bin/node", "ExecStart=/usr/bin/no-such-node"));
      await assert.rejects(run(SYSTEMD_ANALYZE, ["verify", broken]), /no-such-node is not executable/);
      writeFileSync(broken, UNIT.replace("KillMode=mixed", "KillMode=mixd"));
      const typo = await run(SYSTEMD_ANALYZE, ["verify", broken]);
      assert.match(typo.stderr, /Failed to parse kill mode/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
