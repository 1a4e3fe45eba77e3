/**
 * A pickle (protocols 2–5) *data parser*. It builds plain values and never calls anything: every
 * opcode that would import or call (GLOBAL, REDUCE, NEWOBJ, BUILD, persistent ids) is handed to
 * `PickleHooks`, which decide from an allowlist. INST/OBJ, the extension registry and out-of-band
 * buffers are refused outright. Every read is bounds-checked, and the stack, memo and value count
 * are capped, so truncated or hostile input ends in an E_CHECKPOINT error, never a crash or hang.
 */
import { fail } from '../../core/errors.ts';
import { Reader, bad, decodeLong, latin1, utf8 } from './pickle-reader.ts';
import { describe, isList, tuple } from './values.ts';
import type { PyValue } from './values.ts';

export interface PickleHooks {
  /** GLOBAL / STACK_GLOBAL: return a reference to an allowed global, or throw a refusal. */
  findGlobal(module: string, name: string): unknown;
  /** REDUCE: `callable(*args)`. */
  reduce(callable: unknown, args: readonly unknown[]): unknown;
  /** NEWOBJ / NEWOBJ_EX (keyword arguments are refused before this): `cls.__new__(cls, *args)`. */
  newObject(cls: unknown, args: readonly unknown[]): unknown;
  /** BUILD: set `state` on `target` in place. */
  build(target: unknown, state: unknown): void;
  /** BINPERSID: resolve a persistent id (torch.save uses them for storages). */
  persistentLoad(pid: unknown): unknown;
}

export interface PickleLimits {
  maxStack: number;
  maxMemo: number;
  maxValues: number;
  maxLongBytes: number;
  /** V8 cannot hold strings much beyond 2^29 characters. */
  maxStringBytes: number;
}

export const DEFAULT_PICKLE_LIMITS: PickleLimits = {
  maxStack: 1_000_000,
  maxMemo: 4_000_000,
  // Real checkpoints push thousands of values (storages are single bytes objects); this bounds the
  // memory a hostile file can make out of one-byte opcodes such as EMPTY_DICT.
  maxValues: 4_000_000,
  maxLongBytes: 1024,
  maxStringBytes: 2 ** 28,
};

function checkKey(key: unknown, at: number): void {
  if (isList(key) || key instanceof Map) bad(at, `unhashable dict key (${describe(key)})`);
}

/** Parses one pickle starting at `start`; returns its value and the offset just after STOP. */
export function parsePickle(
  bytes: Uint8Array,
  start: number,
  hooks: PickleHooks,
  limits: PickleLimits = DEFAULT_PICKLE_LIMITS,
): { value: PyValue; end: number } {
  const r = new Reader(bytes, start);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  let values = 0;
  let at = start;

  const push = (v: unknown): void => {
    if (stack.length >= limits.maxStack) bad(at, `stack deeper than ${limits.maxStack}`);
    if (++values > limits.maxValues) bad(at, `more than ${limits.maxValues} values`);
    stack.push(v);
  };
  // Values under the innermost MARK belong to an outer frame and cannot be popped.
  const checkDepth = (): void => {
    if (stack.length === 0 || (marks.length > 0 && stack.length <= marks[marks.length - 1])) bad(at, 'stack underflow');
  };
  const pop = (): unknown => (checkDepth(), stack.pop());
  const top = (): unknown => (checkDepth(), stack[stack.length - 1]);
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) bad(at, 'no MARK on the stack');
    return stack.splice(m);
  };
  const put = (index: number): void => {
    if (memo.size >= limits.maxMemo && !memo.has(index)) bad(at, `memo larger than ${limits.maxMemo}`);
    memo.set(index, top());
  };
  const get = (index: number): void => {
    if (!memo.has(index)) bad(at, `memo entry ${index} is missing`);
    push(memo.get(index));
  };
  const setItems = (items: unknown[]): void => {
    if (items.length % 2 !== 0) bad(at, 'SETITEMS with an odd number of items');
    const dict = top();
    if (!(dict instanceof Map)) bad(at, `SETITEM on ${describe(dict)}`);
    for (let i = 0; i < items.length; i += 2) {
      checkKey(items[i], at);
      dict.set(items[i], items[i + 1]);
    }
  };
  const string = (n: number): string => {
    if (n > limits.maxStringBytes) bad(at, `string of ${n} bytes (limit ${limits.maxStringBytes})`);
    return utf8.decode(r.take(n, 'a string'));
  };
  const bytesOf = (n: number): Uint8Array => r.take(n, 'a bytes object');

  for (;;) {
    at = r.pos;
    r.op = at;
    if (r.pos >= bytes.length) bad(at, 'ended before STOP (truncated file?)');
    const op = bytes[r.pos++];
    switch (op) {
      case 0x80: { // PROTO
        const p = r.u8();
        if (p < 2 || p > 5) bad(at, `pickle protocol ${p} is not supported (2–5 are)`);
        break;
      }
      case 0x95: r.need(r.uint(8), 'a frame'); break; // FRAME: a size hint only
      case 0x2e: { // STOP
        if (marks.length !== 0 || stack.length !== 1) bad(at, `STOP with ${stack.length} values and ${marks.length} marks`);
        return { value: stack[0] as PyValue, end: r.pos };
      }
      case 0x28: marks.push(stack.length); if (marks.length > limits.maxStack) bad(at, 'too many MARKs'); break;
      case 0x29: push(tuple([])); break; // EMPTY_TUPLE
      case 0x5d: push([]); break; // EMPTY_LIST
      case 0x7d: push(new Map()); break; // EMPTY_DICT
      case 0x8f: push(new Set()); break; // EMPTY_SET
      case 0x4e: push(null); break; // NONE
      case 0x88: push(true); break; // NEWTRUE
      case 0x89: push(false); break; // NEWFALSE
      case 0x4a: push(r.i32()); break; // BININT
      case 0x4b: push(r.u8()); break; // BININT1
      case 0x4d: push(r.uint(2)); break; // BININT2
      case 0x8a: // LONG1
      case 0x8b: { // LONG4
        const n = op === 0x8a ? r.u8() : r.i32();
        if (n < 0 || n > limits.maxLongBytes) bad(at, `integer of ${n} bytes (limit ${limits.maxLongBytes})`);
        push(decodeLong(r.take(n, 'an integer')));
        break;
      }
      case 0x47: push(r.f64be()); break; // BINFLOAT
      case 0x58: push(string(r.uint(4))); break; // BINUNICODE
      case 0x8c: push(string(r.u8())); break; // SHORT_BINUNICODE
      case 0x8d: push(string(r.uint(8))); break; // BINUNICODE8
      case 0x42: push(bytesOf(r.uint(4))); break; // BINBYTES
      case 0x43: push(bytesOf(r.u8())); break; // SHORT_BINBYTES
      case 0x8e: // BINBYTES8
      case 0x96: push(bytesOf(r.uint(8))); break; // BYTEARRAY8
      case 0x54: { // BINSTRING (a Python 2 str)
        const n = r.i32();
        if (n < 0) bad(at, 'negative string length');
        if (n > limits.maxStringBytes) bad(at, `string of ${n} bytes (limit ${limits.maxStringBytes})`);
        push(latin1.decode(r.take(n, 'a string')));
        break;
      }
      case 0x55: push(latin1.decode(r.take(r.u8(), 'a string'))); break; // SHORT_BINSTRING
      case 0x61: { // APPEND
        const v = pop();
        const list = top();
        if (!isList(list)) bad(at, `APPEND to ${describe(list)}`);
        list.push(v as PyValue);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = top();
        if (!isList(list)) bad(at, `APPENDS to ${describe(list)}`);
        for (const v of items) list.push(v as PyValue);
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItems([k, v]); break; } // SETITEM
      case 0x75: setItems(popMark()); break; // SETITEMS
      case 0x90: { // ADDITEMS
        const items = popMark();
        const set = top();
        if (!(set instanceof Set)) bad(at, `ADDITEMS to ${describe(set)}`);
        for (const v of items) set.add(v);
        break;
      }
      case 0x91: push(new Set(popMark())); break; // FROZENSET
      case 0x74: push(tuple(popMark() as PyValue[])); break; // TUPLE
      case 0x85: push(tuple([pop() as PyValue])); break; // TUPLE1
      case 0x86: { const b = pop(); push(tuple([pop() as PyValue, b as PyValue])); break; } // TUPLE2
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        push(tuple([pop() as PyValue, b as PyValue, c as PyValue]));
        break;
      }
      case 0x6c: push(popMark()); break; // LIST
      case 0x64: { const items = popMark(); push(new Map()); setItems(items); break; } // DICT
      case 0x30: { // POP (of an empty frame: the mark itself)
        if (marks.length > 0 && stack.length === marks[marks.length - 1]) marks.pop();
        else pop();
        break;
      }
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP
      case 0x63: { const module = r.line(); push(hooks.findGlobal(module, r.line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') bad(at, 'STACK_GLOBAL needs two strings');
        push(hooks.findGlobal(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callable = pop();
        if (!Array.isArray(args)) bad(at, `REDUCE arguments are ${describe(args)}, not a tuple`);
        push(hooks.reduce(callable, args));
        break;
      }
      case 0x81: // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = op === 0x92 ? pop() : null;
        const args = pop();
        const cls = pop();
        if (!Array.isArray(args)) bad(at, `NEWOBJ arguments are ${describe(args)}, not a tuple`);
        if (kwargs !== null && !(kwargs instanceof Map && kwargs.size === 0)) bad(at, 'NEWOBJ_EX with keyword arguments');
        push(hooks.newObject(cls, args));
        break;
      }
      case 0x62: { const state = pop(); hooks.build(top(), state); break; } // BUILD
      case 0x51: push(hooks.persistentLoad(pop())); break; // BINPERSID
      case 0x68: get(r.u8()); break; // BINGET
      case 0x6a: get(r.uint(4)); break; // LONG_BINGET
      case 0x71: put(r.u8()); break; // BINPUT
      case 0x72: put(r.uint(4)); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x67: // GET
      case 0x70: { // PUT
        const text = r.line();
        if (!/^\d{1,9}$/.test(text)) bad(at, 'bad memo index');
        if (op === 0x67) get(Number(text));
        else put(Number(text));
        break;
      }
      case 0x69: { // INST: imports and calls a class
        const module = r.line();
        return fail('E_CHECKPOINT', `refusing INST ${module}.${r.line()}: checkpoints may only contain tensors and plain containers`);
      }
      case 0x6f: bad(at, 'refusing OBJ (instantiates a class): checkpoints may only contain tensors and plain containers');
      case 0x82: case 0x83: case 0x84:
        bad(at, 'refusing EXT1/EXT2/EXT4 (the copyreg extension registry): only plain data is accepted');
      case 0x97: case 0x98:
        bad(at, 'out-of-band buffers (protocol 5 NEXT_BUFFER/READONLY_BUFFER) are not supported');
      case 0x49: case 0x4c: case 0x46: case 0x53: case 0x56: case 0x50:
        bad(at, `text opcode ${JSON.stringify(String.fromCharCode(op))} of pickle protocol 0/1 is not supported`);
      default:
        bad(at, `unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
