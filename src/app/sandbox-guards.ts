// The handler sandbox's guards (./sandbox.ts): every function or constructor through which a handler
// could read the clock, randomness other than its command's own, the machine's time zone or locale,
// start something that runs after it returns, or reach I/O, wrapped once by one that refuses while a
// handler runs and otherwise calls the original as it was (same name, length, statics, prototype).
// The `Date` constructor stays: a date from a number or another date is the same on every machine.

const CLOCK = "use ctx.timestamp";
const RANDOM = "use ctx.random()";
const LOCAL_TIME = "it depends on the machine's time zone: use new Date(ms), Date.UTC and the UTC methods";
const LOCALE = "it depends on the machine's locale: compare and format without it";
const IO = "a handler reads only its arguments and returns its result";
const CONSOLE = `${IO} (console output reaches the host)`;
const ASYNC = "handlers are synchronous: nothing may run after they return";
const GC = "it depends on the garbage collector";

type Refuse = (call: string, hint: string) => never;
/** What a call with these arguments would be refused as (`[call, hint]`), or undefined if allowed. */
type Judge = (args: readonly unknown[], constructed: boolean) => readonly [string, string] | undefined;
type Callable = (this: unknown, ...args: unknown[]) => unknown;

/** Wraps `owner[key]`, if it is a function, so that it asks `judge` while a handler runs. */
function guard(owner: object | undefined, key: string, judge: Judge, running: () => boolean, refuse: Refuse) {
  if (owner === undefined) return;
  const original = Reflect.get(owner, key) as Callable | undefined;
  if (typeof original !== "function") return;
  function guarded(this: unknown, ...args: unknown[]): unknown {
    if (running()) {
      const refused = judge(args, new.target !== undefined);
      if (refused) refuse(...refused);
    }
    return new.target === undefined
      ? Reflect.apply(original!, this, args)
      : Reflect.construct(original!, args, new.target);
  }
  // The original's name, length, statics, own symbols (`util.promisify.custom`) and prototype.
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(original)))
    Reflect.defineProperty(guarded, name, descriptor);
  for (const symbol of Object.getOwnPropertySymbols(original))
    Reflect.defineProperty(guarded, symbol, Object.getOwnPropertyDescriptor(original, symbol)!);
  Object.setPrototypeOf(guarded, Object.getPrototypeOf(original));
  // Instances lead back to the guarded one: `new (date.constructor)()` is refused too.
  const prototype = (original as { prototype?: { constructor?: unknown } }).prototype;
  if (prototype?.constructor === original)
    Reflect.defineProperty(prototype, "constructor", { value: guarded });
  const place = Object.getOwnPropertyDescriptor(owner, key);
  // Where the intrinsics are frozen (a hardened page) the definition fails and nothing is wrapped.
  Reflect.defineProperty(owner, key, { ...place, value: guarded, writable: true, configurable: true });
}

const always =
  (call: string, hint: string): Judge =>
  () => [call, hint];

/** `Date`: never "now", never local time. */
const judgeDate: Judge = (args, constructed) => {
  if (!constructed) return ["Date()", CLOCK];
  if (args.length === 0) return ["new Date()", CLOCK];
  if (args.length > 1) return ["new Date(year, month, …)", LOCAL_TIME];
  if (typeof args[0] === "string") return ["new Date(string)", LOCAL_TIME];
  return undefined;
};

const LOCAL_DATE_METHODS = [
  ...["getDate", "getDay", "getFullYear", "getHours", "getMinutes", "getMonth", "getSeconds", "getYear"],
  ...["setDate", "setFullYear", "setHours", "setMinutes", "setMonth", "setSeconds", "setYear"],
  ...["getTimezoneOffset", "toString", "toDateString", "toTimeString"],
];
const LOCALE_METHODS = [
  ["Date.prototype", ["toLocaleString", "toLocaleDateString", "toLocaleTimeString"]],
  ["Number.prototype", ["toLocaleString"]],
  ["BigInt.prototype", ["toLocaleString"]],
  ["Array.prototype", ["toLocaleString"]],
  ["String.prototype", ["localeCompare", "toLocaleUpperCase", "toLocaleLowerCase"]],
] as const;
const PROTOTYPES = {
  "Date.prototype": Date.prototype,
  "Number.prototype": Number.prototype,
  "BigInt.prototype": BigInt.prototype,
  "Array.prototype": Array.prototype,
  "String.prototype": String.prototype,
};
const INTL_CONSTRUCTORS = [
  ...["DateTimeFormat", "NumberFormat", "Collator", "PluralRules"],
  ...["RelativeTimeFormat", "ListFormat", "DisplayNames", "Segmenter"],
];
const GLOBALS: readonly (readonly [string, string])[] = [
  ["setTimeout", ASYNC],
  ["setInterval", ASYNC],
  ["setImmediate", ASYNC],
  ["queueMicrotask", ASYNC],
  ["MessageChannel", ASYNC],
  ["fetch", IO],
  ["XMLHttpRequest", IO],
  ["WebSocket", IO],
  ["EventSource", IO],
  ["BroadcastChannel", IO],
  ["Worker", IO],
  ["WeakRef", GC],
  ["FinalizationRegistry", GC],
];

/** Installs every guard; `running` says whether a handler runs, `refuse` throws its violation. */
export function installGuards(running: () => boolean, refuse: Refuse): void {
  const on = (owner: object | undefined, key: string, judge: Judge) =>
    guard(owner, key, judge, running, refuse);
  const scope = globalThis as { crypto?: object; performance?: object; Intl?: object; console?: object };
  const cryptoPrototype = scope.crypto && Object.getPrototypeOf(scope.crypto);
  on(Math, "random", always("Math.random", RANDOM));
  on(cryptoPrototype, "getRandomValues", always("crypto.getRandomValues", RANDOM));
  on(cryptoPrototype, "randomUUID", always("crypto.randomUUID", RANDOM));
  on(Date, "now", always("Date.now", CLOCK));
  on(Date, "parse", always("Date.parse", LOCAL_TIME));
  on(scope.performance, "now", always("performance.now", CLOCK));
  for (const name of LOCAL_DATE_METHODS)
    on(Date.prototype, name, always(`Date.prototype.${name}`, LOCAL_TIME));
  for (const [owner, names] of LOCALE_METHODS)
    for (const name of names) on(PROTOTYPES[owner], name, always(`${owner}.${name}`, LOCALE));
  for (const name of INTL_CONSTRUCTORS) on(scope.Intl, name, always(`Intl.${name}`, LOCALE));
  for (const [name, hint] of GLOBALS) on(globalThis, name, always(name, hint));
  for (const name of Object.keys(scope.console ?? {}))
    on(scope.console, name, always(`console.${name}`, CONSOLE));
  on(globalThis, "Date", judgeDate); // last: the statics copied onto it are the guarded ones
}
