// The bpf(2) system call through the koffi FFI, and the native memory it reads and writes: the
// pointers in `union bpf_attr` are native addresses, so keys, values and the attr itself live in
// buffers allocated once outside the JS heap and reused for every call.
import koffi from 'koffi';

const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280 };
/** The size of `union bpf_attr` passed: the kernel wants every byte past a command's fields zero. */
export const ATTR_SIZE = 128;
export const ENOENT = 2;
/** The largest key and value the scratch buffers hold: more than any map the agent writes. */
export const MAX_KEY = 64;
export const MAX_VALUE = 64;

export class BpfError extends Error {
  constructor(
    readonly op: string,
    readonly errno: number,
  ) {
    super(`bpf ${op} failed: errno ${errno}`);
    this.name = 'BpfError';
  }
}

/** Native memory: its address for the kernel, and a Buffer over the same bytes for JS. */
export interface Scratch {
  ptr: unknown;
  address: bigint;
  bytes: Buffer;
}

export class BpfNative {
  private readonly syscall: (nr: number, cmd: number, attr: unknown, size: number) => number | bigint;
  private readonly calloc: (n: number, size: number) => unknown;
  private readonly nr: number;
  readonly close: (fd: number) => number;

  constructor() {
    const nr = SYS_BPF[process.arch];
    if (nr === undefined) throw new Error(`bpf(2): unsupported architecture ${process.arch}`);
    this.nr = nr;
    const libc = koffi.load('libc.so.6');
    this.syscall = libc.func('long syscall(long nr, long cmd, void *attr, long size)');
    this.close = libc.func('int close(int fd)');
    this.calloc = libc.func('void *calloc(size_t n, size_t size)');
  }

  /** Zeroed native memory, kept for the life of the process (each user allocates its own once). */
  scratch(size: number): Scratch {
    const ptr = this.calloc(1, size);
    return { ptr, address: koffi.address(ptr), bytes: Buffer.from(koffi.view(ptr, size)) };
  }

  /** bpf(cmd, attr): the result, or -errno. */
  call(cmd: number, attr: Scratch): number {
    const r = Number(this.syscall(this.nr, cmd, attr.ptr, ATTR_SIZE));
    return r < 0 ? -koffi.errno() : r;
  }
}
