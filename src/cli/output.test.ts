import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { printable } from "./output.js";

describe("printable", () => {
  it("shows every control character a node could send as its escape, so none reaches the terminal", () => {
    const title = "\u001b]0;pwned\u0007"; // set the window title
    const erase = "\u001b[2K\r"; // erase the line, back to its start
    const link = "\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\";
    const c1 = "\u009b31m"; // the one-byte CSI
    const shown = printable(`ok ${title}${erase}${link}${c1}\u007f`);
    const controls = [...shown].filter((c) => {
      const code = c.charCodeAt(0);
      return code < 0x20 || (code >= 0x7f && code <= 0x9f);
    });
    assert.deepEqual(controls, []);
    assert.match(shown, /\\u001b\]0;pwned\\u0007/);
    assert.match(shown, /\\u009b31m/);
    assert.equal(printable("line one\n\tline two"), "line one\n\tline two", "tab and newline stay");
  });
});
