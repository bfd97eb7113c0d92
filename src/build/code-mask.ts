// The code of a JavaScript file with every literal and comment blanked out, offsets unchanged, so a
// scan of the bundle for `require(`, `import(` or `eval` finds code and never a word in a string, a
// comment or a regular expression. Made for esbuild's output (unminified, one dialect); it fails
// closed: a file it cannot follow to the end with its brackets balanced is refused, never guessed at.

/** Words after which a `/` starts a regular expression rather than a division. */
const REGEX_AFTER_WORDS = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "of",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "yield",
  "await",
]);
/** Punctuation after which a `/` starts a regular expression. */
const REGEX_AFTER_PUNCTUATION = new Set("(,=:[!&|?{};+-*%<>~^}");
const PAIRS: Record<string, string> = { ")": "(", "]": "[", "}": "{" };
const BLANK = " ";

export class CodeMaskError extends Error {
  override name = "CodeMaskError";
}

const isWordChar = (c: string | undefined): boolean =>
  c !== undefined &&
  ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c === "_" || c === "$");
const isSpace = (c: string): boolean => c === " " || c === "\n" || c === "\t" || c === "\r";

/** `text` with the inside of every string, template text, regular expression and comment blanked. */
export function maskLiterals(text: string): string {
  // The blanked ranges, in order; the result is put together once at the end.
  const ranges: [number, number][] = [];
  const blank = (from: number, to: number) => {
    if (to > from) ranges.push([from, to]);
  };
  const brackets: string[] = [];
  /** For each template literal open around the code, the bracket depth its `${` opened at. */
  const templates: number[] = [];
  let last = ""; // the last significant punctuation, or "w" after a word
  // The last word, by its bounds: read only when a `/` follows it (a slice per word costs seconds).
  let wordStart = 0;
  let wordEnd = 0;
  let i = 0;

  /** Reads template text from `i` (after a backtick or a `}` closing `${`) to its end or next `${`. */
  const templateText = () => {
    const start = i;
    while (i < text.length) {
      const c = text[i];
      if (c === "\\") i += 2;
      else if (c === "`") {
        blank(start, i);
        i++;
        last = "w"; // a template literal is a value, like a word
        wordEnd = wordStart;
        return;
      } else if (c === "$" && text[i + 1] === "{") {
        blank(start, i);
        i += 2;
        templates.push(brackets.length);
        brackets.push("{");
        last = "{";
        return;
      } else i++;
    }
    throw new CodeMaskError(`a template literal opened at ${start} never closes`);
  };

  while (i < text.length) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) throw new CodeMaskError(`a comment opened at ${i} never closes`);
      blank(i, end + 2);
      i = end + 2;
    } else if (c === '"' || c === "'") {
      const start = i++;
      while (i < text.length && text[i] !== c) {
        if (text[i] === "\n") throw new CodeMaskError(`a string opened at ${start} runs past its line`);
        i += text[i] === "\\" ? 2 : 1;
      }
      if (i >= text.length) throw new CodeMaskError(`a string opened at ${start} never closes`);
      blank(start + 1, i);
      i++;
      last = "w";
      wordEnd = wordStart;
    } else if (c === "`") {
      i++;
      templateText();
    } else if (c === "/") {
      const regex =
        last === "" ||
        REGEX_AFTER_PUNCTUATION.has(last) ||
        REGEX_AFTER_WORDS.has(text.slice(wordStart, wordEnd));
      const postfix = (last === "+" || last === "-") && text[i - 1] === last && text[i - 2] === last;
      if (regex && !postfix) {
        const start = i++;
        let inClass = false;
        while (i < text.length && (inClass || text[i] !== "/")) {
          if (text[i] === "\n")
            throw new CodeMaskError(`a regular expression at ${start} runs past its line`);
          if (text[i] === "[") inClass = true;
          else if (text[i] === "]") inClass = false;
          i += text[i] === "\\" ? 2 : 1;
        }
        blank(start + 1, i);
        i++;
        while (isWordChar(text[i])) i++; // its flags
        last = "w";
      } else {
        last = "/";
        i++;
      }
      wordEnd = wordStart;
    } else if (isWordChar(c)) {
      const start = i;
      while (isWordChar(text[i])) i++;
      // A property (`x.return`) is no keyword.
      wordStart = start;
      wordEnd = text[start - 1] === "." ? start : i;
      last = "w";
    } else if (isSpace(c)) {
      i++;
    } else {
      if (c === "(" || c === "[" || c === "{") brackets.push(c);
      else if (c === ")" || c === "]" || c === "}") {
        if (brackets.pop() !== PAIRS[c]) throw new CodeMaskError(`an unbalanced ${c} at ${i}`);
        if (c === "}" && templates.at(-1) === brackets.length) {
          templates.pop();
          i++;
          templateText();
          continue;
        }
      }
      last = c;
      wordEnd = wordStart;
      i++;
    }
  }
  if (brackets.length > 0) throw new CodeMaskError(`${brackets.length} brackets never close`);
  const parts: string[] = [];
  let at = 0;
  for (const [from, to] of ranges) {
    // Lines stay where they were: a comment's newlines are kept.
    const blanked = text
      .slice(from, to)
      .split("\n")
      .map((line) => BLANK.repeat(line.length));
    parts.push(text.slice(at, from), blanked.join("\n"));
    at = to;
  }
  parts.push(text.slice(at));
  return parts.join("");
}
