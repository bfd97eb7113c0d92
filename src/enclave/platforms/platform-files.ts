// The files a hardware platform's adapter talks to its kernel through (configfs-tsm, Gramine's
// /dev/attestation), behind one small port: the real one is node:fs, and tests put a kernel of their
// own behind it (test-kernel.ts) over a directory that plays the kernel's tree. Every read is bounded
// (a kernel file larger than its format allows is refused, never read whole), every write goes to a
// file that must exist already (an attribute the kernel made, never one this process creates).
import { constants } from "node:fs";
import { mkdir, open, rmdir } from "node:fs/promises";

/** A platform interface is absent, misbehaves, or answered what its format does not allow. */
export class PlatformError extends Error {
  override name = "PlatformError";
  constructor(
    readonly code: PlatformErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const PLATFORM_ERROR_CODES = [
  /** The interface (a directory or file of the kernel's) is not there. */
  "missing",
  /** configfs-tsm says another provider than the platform the build is for. */
  "wrong_provider",
  /** configfs-tsm's generation moved under a concurrent writer, attempt after attempt. */
  "concurrent_writer",
  /** More bytes than the format allows. */
  "too_large",
  /** Bytes that are not what the platform should have answered (wrong format, other report data). */
  "bad_evidence",
  /** Anything else the file system refused. */
  "io",
] as const;
export type PlatformErrorCode = (typeof PLATFORM_ERROR_CODES)[number];

export interface PlatformFiles {
  /** Creates one directory; fails if it exists (EEXIST) or its parent does not (ENOENT). */
  mkdir(path: string): Promise<void>;
  /** At most `max` bytes of the file; more is `too_large`. */
  read(path: string, max: number): Promise<Uint8Array>;
  /** Writes `bytes` to an existing file in one write, without creating or truncating it. */
  write(path: string, bytes: Uint8Array): Promise<void>;
  /** Removes a directory (a configfs entry is removed with rmdir, its attributes with it). */
  rmdir(path: string): Promise<void>;
}

/** The error code of a failed file operation (ENOENT, EACCES, ...), if it has one. */
export const errnoOf = (error: unknown): string | undefined => (error as NodeJS.ErrnoException)?.code;

/** The real files, through node:fs. */
export const NODE_FILES: PlatformFiles = {
  mkdir: async (path) => {
    await mkdir(path);
  },
  read: async (path, max) => {
    const handle = await open(path, constants.O_RDONLY);
    try {
      // One byte more than allowed: reading it proves the file is too large without reading it all.
      const buffer = new Uint8Array(max + 1);
      let length = 0;
      while (length < buffer.length) {
        const { bytesRead } = await handle.read(buffer, length, buffer.length - length);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > max) throw new PlatformError("too_large", `${path} holds more than ${max} bytes`);
      return buffer.slice(0, length);
    } finally {
      await handle.close();
    }
  },
  write: async (path, bytes) => {
    // No O_CREAT: a missing attribute is a missing interface, not a file to make. No O_TRUNC: configfs
    // and Gramine's pseudo-files take the whole value in one write, committed when the file closes.
    const handle = await open(path, constants.O_WRONLY);
    try {
      const { bytesWritten } = await handle.write(bytes, 0, bytes.length, null);
      if (bytesWritten !== bytes.length)
        throw new PlatformError("io", `${path} took ${bytesWritten} of ${bytes.length} bytes`);
    } finally {
      await handle.close();
    }
  },
  rmdir: (path) => rmdir(path),
};
