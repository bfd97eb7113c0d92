// The socket boundary's flags: endpoints as HOST:PORT, and `node start --enclave-endpoint` held to
// its host token and to no local bundle.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { enclaveEndpointFlags, parseEndpoint } from "./enclave-serve.js";

const TOKEN = "5e".repeat(32);

describe("socket boundary flags", () => {
  const dir = mkdtempSync(join(tmpdir(), "anonify-endpoint-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const tokenFile = join(dir, "host.token");
  writeFileSync(tokenFile, `${TOKEN}\n`);
  const shortFile = join(dir, "short.token");
  writeFileSync(shortFile, "secret\n");

  test("HOST:PORT, an IPv6 address in brackets; a listener may ask for port 0", () => {
    assert.deepEqual(parseEndpoint("10.0.0.7:7000", "--x"), { host: "10.0.0.7", port: 7000 });
    assert.deepEqual(parseEndpoint("enclave-vm:7000", "--x"), { host: "enclave-vm", port: 7000 });
    assert.deepEqual(parseEndpoint("[::1]:7000", "--x"), { host: "::1", port: 7000 });
    assert.deepEqual(parseEndpoint("0.0.0.0:0", "--listen", 0), { host: "0.0.0.0", port: 0 });
    for (const bad of ["7000", "host:", "::1:7000", "[nothost]:1", "host:70000", "a b:1"])
      assert.throws(() => parseEndpoint(bad, "--x"), /--x/, bad);
    assert.throws(() => parseEndpoint("host:0", "--enclave-endpoint"), /port must be an integer from 1/);
  });

  test("--enclave-endpoint needs --host-token-file, of a real secret, and no local bundle", () => {
    assert.equal(enclaveEndpointFlags({}), undefined);
    assert.deepEqual(enclaveEndpointFlags({ enclaveEndpoint: "127.0.0.1:7000", hostTokenFile: tokenFile }), {
      host: "127.0.0.1",
      port: 7000,
      token: TOKEN,
    });
    const refused = (flags: Parameters<typeof enclaveEndpointFlags>[0], why: RegExp) =>
      assert.throws(() => enclaveEndpointFlags(flags), why);
    refused({ enclaveEndpoint: "127.0.0.1:7000" }, /needs --host-token-file/);
    refused({ hostTokenFile: tokenFile }, /--host-token-file goes with --enclave-endpoint/);
    refused({ enclaveEndpoint: "127.0.0.1:7000", hostTokenFile: join(dir, "none") }, /no such file/);
    refused({ enclaveEndpoint: "127.0.0.1:7000", hostTokenFile: shortFile }, /at least 32 characters/);
    for (const local of ["enclave", "app", "platform"] as const)
      refused(
        { enclaveEndpoint: "127.0.0.1:7000", hostTokenFile: tokenFile, [local]: "x" },
        new RegExp(`--${local} chooses or checks a local bundle`),
      );
  });
});
