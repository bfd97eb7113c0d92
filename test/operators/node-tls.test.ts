// `anonify node start --tls-cert --tls-key` as an operator without a proxy runs it: the node serves
// HTTPS only, a CLI that trusts the certificate (NODE_EXTRA_CA_CERTS) talks to it, one that does not
// refuses it; a key that is not the certificate's, or a flag alone, is refused before anything is
// sent on chain. Spawns bin/anonify.mjs: run `npm run build` first.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { connect as tlsConnect } from "node:tls";
import { promisify } from "node:util";
import type { Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { RunningService } from "../../src/attestation/service.js";
import { type Anvil, startAnvil } from "../../src/chain/anvil.js";
import { type ChildCommand, startChildCommand } from "../../src/devnet/child-command.js";
import { anvilKey } from "../support/chain.js";
import { startService } from "../support/network.js";
import { makeTlsFiles, type TlsFiles } from "../support/tls-cert.js";
import { until } from "../support/wait.js";
import { CLI } from "./operator-net.js";

const execFileAsync = promisify(execFile);

/** Runs `anonify` with `env` added to this process's; resolves to its exit code and output. */
async function anonify(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

/** GET `path` over HTTPS trusting `ca`, or over plain HTTP: the status, or the error that ended it. */
function get(url: string, path: string, ca?: string): Promise<number> {
  const target = new URL(path, url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target, { agent: false, ...(ca ? { ca } : {}) }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The SHA-256 fingerprint of the certificate a new TLS connection to 127.0.0.1:`port` is shown. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

/** How many transactions `account` has sent on the chain at `rpcUrl`. */
async function sentBy(rpcUrl: string, account: Address): Promise<number> {
  const res = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "eth_getTransactionCount",
      params: [account, "latest"],
    }),
  });
  return Number(((await res.json()) as { result: string }).result);
}

/** Valid until half a day ago. */
const EXPIRED_DAYS = -0.5;

type Started = { url: string; enclave: Address };

describe("a node serving HTTPS itself (node start --tls-cert --tls-key)", () => {
  let dir: string;
  let anvil: Anvil;
  let service: RunningService;
  let profile: string;
  let tls: TlsFiles;
  let node: Promise<ChildCommand<Started>> | undefined;
  /** What the node wrote on standard error. */
  const lines: string[] = [];
  /** The node serving HTTPS with `tls` (started by the first test that needs it). */
  const running = () => {
    node ??= startChildCommand<Started>(
      CLI,
      start("node", keyFile("node.key", 1), "--tls-cert", tls.certFile, "--tls-key", tls.keyFile),
      { onLine: (line) => lines.push(line) },
    );
    return node;
  };
  const keyFile = (name: string, index: number) => {
    const path = join(dir, name);
    writeFileSync(path, `${anvilKey(index)}\n`, { mode: 0o600 });
    return path;
  };
  const start = (dataDir: string, key: string, ...more: string[]) => [
    ...["node", "start", "--network", profile, "--attestation", service.url],
    ...["--data-dir", join(dir, dataDir), "--key", key, "--json", ...more],
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "anonify-node-tls-"));
    [anvil, service, tls] = await Promise.all([
      startAnvil(),
      startService(),
      makeTlsFiles(mkdtempSync(join(dir, "tls-")), "node"),
    ]);
    profile = join(dir, "network.json");
    const deployed = await anonify([
      ...["deploy", "--rpc", anvil.rpcUrl, "--key", keyFile("owner.key", 0), "--out", profile, "--json"],
      ...["--trust-signer", service.signer, "--allow-measurement", "default", "--debug-allowed"],
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
  });
  after(async () => {
    await (await node)?.stop();
    await service?.close();
    await anvil?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a key that is not the certificate's, a flag alone, a missing file: refused naming the flag, nothing sent", async () => {
    const other = await makeTlsFiles(mkdtempSync(join(dir, "other-")), "other");
    const expired = await makeTlsFiles(mkdtempSync(join(dir, "expired-")), "expired", EXPIRED_DAYS);
    const key = keyFile("refused.key", 2);
    const cases: [string[], RegExp][] = [
      [
        ["--tls-cert", expired.certFile, "--tls-key", expired.keyFile],
        /^--tls-cert \S+expired\.pem: expired on /,
      ],
      [
        ["--tls-cert", tls.certFile, "--tls-key", other.keyFile],
        /^--tls-key \S+other\.key is not the private key of the certificate in --tls-cert \S+node\.pem/,
      ],
      [["--tls-cert", tls.certFile], /^--tls-cert needs --tls-key/],
      [["--tls-key", tls.keyFile], /^--tls-key needs --tls-cert/],
      [
        ["--tls-cert", join(dir, "absent.pem"), "--tls-key", tls.keyFile],
        /^--tls-cert \S+absent\.pem: no such file/,
      ],
      [["--tls-cert", tls.keyFile, "--tls-key", tls.keyFile], /^--tls-cert \S+: not a PEM certificate/],
      [["--trusted-proxy", "proxy.example"], /^--trusted-proxy must be an IP address or a CIDR range/],
      [["--trusted-proxy", "0.0.0.0/0"], /^--trusted-proxy .* not "0\.0\.0\.0\/0"/],
    ];
    const said = await Promise.all(cases.map(([flags], i) => anonify(start(`refused-${i}`, key, ...flags))));
    for (const [i, [flags, expected]] of cases.entries()) {
      assert.equal(said[i]?.code, 1, flags.join(" "));
      const refusal = JSON.parse(said[i]?.stdout ?? "") as { code: string; reason: string };
      assert.equal(refusal.code, "bad_flag", flags.join(" "));
      assert.match(refusal.reason, expected, flags.join(" "));
      assert.doesNotMatch(said[i]?.stdout ?? "", /PRIVATE KEY|BEGIN/, "no key material in the refusal");
    }
    assert.equal(
      await sentBy(anvil.rpcUrl, privateKeyToAccount(anvilKey(2)).address),
      0,
      "nothing was sent on chain",
    );
  });

  test("serves HTTPS only; the CLI reads its status when it trusts the certificate, and refuses it otherwise", async () => {
    const { url, enclave } = (await running()).ready;
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/, "the printed URL is https://");
    assert.equal(await get(url, "/v1/health", readFileSync(tls.certFile, "utf8")), 200);
    await assert.rejects(get(url.replace(/^https:/, "http:"), "/v1/health"), "plain HTTP gets no answer");

    const trusted = await anonify(["status", "--node", url, "--network", profile, "--json"], {
      NODE_EXTRA_CA_CERTS: tls.certFile,
    });
    assert.equal(trusted.code, 0, trusted.stderr);
    const status = JSON.parse(trusted.stdout) as { enclave: Address };
    assert.equal(status.enclave.toLowerCase(), enclave.toLowerCase());

    const untrusted = await anonify(["group", "status", "--node", url, "--json"]);
    assert.equal(untrusted.code, 1);
    const refusal = JSON.parse(untrusted.stdout) as { code: string; reason: string };
    assert.equal(refusal.code, "node_unreachable");
    assert.match(refusal.reason, /^the node https:\/\/127\.0\.0\.1:\d+ does not answer/);
  });

  test("on SIGHUP it serves the renewed certificate to new connections; a pair that does not match is logged and ignored", async () => {
    const started = await running();
    const { port } = new URL(started.ready.url);
    const served = () => servedFingerprint(Number(port));
    const before = new X509Certificate(readFileSync(tls.certFile)).fingerprint256;
    assert.equal(await served(), before);

    const renewed = await makeTlsFiles(mkdtempSync(join(dir, "renewed-")), "renewed");
    writeFileSync(tls.keyFile, renewed.key, { mode: 0o600 });
    process.kill(started.pid, "SIGHUP");
    await until("the refused reload to be logged", () =>
      lines.find((l) => l.includes("TLS certificate not reloaded")),
    );
    assert.equal(await served(), before, "a key that is not the certificate's leaves the old one served");
    assert.ok(!lines.some((l) => l.includes("PRIVATE KEY")), "no key material in the log");

    writeFileSync(tls.certFile, renewed.cert);
    process.kill(started.pid, "SIGHUP");
    const after = new X509Certificate(renewed.cert).fingerprint256;
    await until("new connections to get the renewed certificate", async () =>
      (await served()) === after ? true : undefined,
    );
    assert.equal(await get(started.ready.url, "/v1/health", renewed.cert), 200);
  });
});
