// The mask the bundle guard reads code through: literals and comments blanked, code and offsets
// kept, and a file it cannot follow refused rather than guessed at.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CodeMaskError, maskLiterals } from "./code-mask.js";

test("blanks strings, templates, regular expressions and comments, and keeps the code", () => {
  const source = [
    'const a = "require(x)"; // import(y)',
    `const b = \`eval(\${require(name)})\` / 2; /* Function(z) */`,
    'const c = x / y / z, d = /import\\("q"\\)[/]/g.test(s);',
    "if (a) return /dlopen/;",
  ].join("\n");
  const masked = maskLiterals(source);
  assert.equal(masked.length, source.length);
  assert.equal(masked.split("\n").length, source.split("\n").length);
  // Only the code is left to find: the require inside the template's `${…}`, and the divisions.
  assert.deepEqual(
    [...masked.matchAll(/require|import|eval|Function|dlopen/g)].map((m) => m[0]),
    ["require"],
  );
  assert.match(masked, /const c = x \/ y \/ z, d = \/ +\/g\.test\(s\);/);
  assert.match(masked, /const a = " +";/);
});

test("refuses what it cannot follow", () => {
  for (const broken of ['const a = "open', `const b = \`open \${x}`, "f(a, b", "f(a]", "/* open"])
    assert.throws(() => maskLiterals(broken), CodeMaskError, broken);
});
