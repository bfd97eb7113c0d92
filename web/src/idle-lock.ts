// The wallet's auto-lock: a key left unlocked in an unattended page serves whoever comes to the screen
// next. After a while without the user's input the wallet forgets the key and its client, and asks
// for the passphrase again.

/** How long an unlocked wallet waits for the user before it locks. */
export const IDLE_LOCK_MS = 10 * 60 * 1_000;
/**
 * `?lock-after=SECONDS` shortens the wait (a shared screen; the browser test). Only shortens: a link
 * someone sends must not keep a key unlocked longer than the page would.
 */
const LOCK_PARAM = "lock-after";
const MS_PER_SECOND = 1_000;
const MS_PER_MINUTE = 60 * MS_PER_SECOND;
/** What counts as the user being there. */
const ACTIVITY = ["pointerdown", "pointermove", "keydown", "wheel", "touchstart"] as const;

/** The idle time this page locks after. */
export function idleLockMs(search = location.search): number {
  const asked = Number(new URLSearchParams(search).get(LOCK_PARAM));
  return Number.isFinite(asked) && asked > 0 ? Math.min(asked * MS_PER_SECOND, IDLE_LOCK_MS) : IDLE_LOCK_MS;
}

/** "10 min", or "3 s" under a minute. */
export const durationText = (ms: number): string =>
  ms >= MS_PER_MINUTE ? `${Math.round(ms / MS_PER_MINUTE)} min` : `${Math.round(ms / MS_PER_SECOND)} s`;

/** Calls `lock` once the user has done nothing for `idleMs`; returns a function that stops watching. */
export function lockWhenIdle(idleMs: number, lock: () => void): () => void {
  let last = Date.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overdue = () => Date.now() - last >= idleMs;
  const stop = () => {
    clearTimeout(timer);
    for (const type of ACTIVITY) window.removeEventListener(type, active, true);
  };
  const fire = () => {
    stop();
    lock();
  };
  // A hidden tab's timers fire late: the clock decides, and input after the deadline locks too.
  const check = () => {
    if (overdue()) fire();
    else timer = setTimeout(check, last + idleMs - Date.now());
  };
  function active() {
    if (overdue()) fire();
    else last = Date.now();
  }
  for (const type of ACTIVITY) window.addEventListener(type, active, { capture: true, passive: true });
  timer = setTimeout(check, idleMs);
  return stop;
}
