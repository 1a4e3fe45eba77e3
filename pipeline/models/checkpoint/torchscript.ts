/**
 * TorchScript archives (`torch.jit.save`; OpenAI's released `ViT-B-32.pt`) read as data.
 *
 * The archive is a torch.save-style zip whose `data.pkl` pickles the module tree: every module is
 * `NEWOBJ(__torch__.<path> <Class>)` + `BUILD({attribute: value})`, tensors are the usual
 * `_rebuild_tensor_v2` of `data/<key>` storages, and typed containers pass through
 * `torch.jit._pickle.build_intlist` / `restore_type_tag` and friends. Here a `__torch__` class is
 * an inert container (InertObject): never resolved, constructed or run. Which attributes are
 * parameters and buffers is not in the pickle but in the archive's serialized source,
 * `code/__torch__/<path>.py`, whose class bodies begin with literal lists:
 *
 *     class Linear(Module):
 *       __parameters__ = ["weight", "bias", ]
 *       __buffers__ = []
 *
 * Those two lines are read as text (nothing else of the source is looked at), so the state dict
 * is exactly `torch.jit.load(path).state_dict()`: a scripted module's plain tensor attributes
 * (an attention mask, say) stay out of it. Every other global stays refused.
 */
import { fail } from '../../core/errors.ts';
import type { GlobalResolver } from './safe-globals.ts';
import { Tensor } from './tensor.ts';
import type { SafeGlobal } from './torch-globals.ts';
import { InertObject, describe, expectString, isList } from './values.ts';
import type { PyValue, ScriptClassDeclaration } from './values.ts';
import { walkBudget } from './walk-budget.ts';
import type { ZipArchive } from './zip.ts';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_SOURCE_BYTES = 64 * 2 ** 20;
const MAX_DEPTH = 256;

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** `torch.jit._pickle.*`: typed containers pass through as the plain container they wrap. */
function passThrough(name: string, check: (v: unknown) => boolean, what: string): [string, SafeGlobal] {
  return [`torch.jit._pickle.${name}`, {
    call(args) {
      const n = name === 'restore_type_tag' ? 2 : 1;
      if (args.length !== n || !check(args[0])) fail('E_CHECKPOINT', `torch.jit._pickle.${name} of ${describe(args[0])}, expected ${what}`);
      if (n === 2) expectString(args[1], 'a TorchScript type tag');
      return args[0];
    },
  }];
}

const JIT_PICKLE_GLOBALS: ReadonlyMap<string, SafeGlobal> = new Map([
  passThrough('build_intlist', isList, 'a list'),
  passThrough('build_doublelist', isList, 'a list'),
  passThrough('build_boollist', isList, 'a list'),
  passThrough('build_tensorlist', isList, 'a list'),
  passThrough('restore_type_tag', (v) => isList(v) || v instanceof Map, 'a list or a dict'),
]);

/** The `__parameters__` / `__buffers__` literal of a class body, e.g. `["weight", "bias", ]`. */
function nameList(text: string, where: string): string[] {
  const m = /^\[(.*)\]$/.exec(text.trim());
  const names = m ? [...m[1].matchAll(/"([^"]*)"/g)].map((x) => x[1]) : null;
  if (!m || !names || m[1].replace(/"[^"]*"/g, '').replace(/[\s,]/g, '') !== '' || names.some((n) => !/^[A-Za-z0-9_]+$/.test(n))) {
    fail('E_CHECKPOINT', `${where}: cannot read the list ${JSON.stringify(text.slice(0, 80))}`);
  }
  return names;
}

/** Module classes declared in one source file: name → declaration. Non-module classes are left out. */
export function parseScriptDeclarations(source: string, file: string): Map<string, ScriptClassDeclaration> {
  const out = new Map<string, ScriptClassDeclaration>();
  let current: { name: string; parameters?: string[]; buffers?: string[] } | null = null;
  const close = (): void => {
    if (!current) return;
    if (!current.parameters || !current.buffers) {
      fail('E_CHECKPOINT', `${file}: module class ${current.name} does not declare __parameters__ and __buffers__`,
        'the archive was written by a PyTorch StyleAtlas does not know; in Python: ' +
        "torch.save(torch.jit.load(path, map_location='cpu').state_dict(), 'weights.pt')");
    }
    out.set(current.name, { parameters: current.parameters, buffers: current.buffers });
    current = null;
  };
  for (const line of source.split('\n')) {
    const header = /^class ([A-Za-z_][A-Za-z0-9_]*)\((.*)\):\s*$/.exec(line);
    if (header) {
      close();
      if (header[2] === 'Module') current = { name: header[1] };
      continue;
    }
    if (!current || line.trim() === '') continue;
    if (!line.startsWith(' ')) {
      close();
      continue;
    }
    const decl = /^ +(__parameters__|__buffers__) = (.*)$/.exec(line);
    if (decl) {
      const where = `${file}: ${current.name}.${decl[1]}`;
      if (current[decl[1] === '__parameters__' ? 'parameters' : 'buffers']) fail('E_CHECKPOINT', `${where} is declared twice`);
      current[decl[1] === '__parameters__' ? 'parameters' : 'buffers'] = nameList(decl[2], where);
    }
  }
  close();
  return out;
}

/**
 * The globals a TorchScript archive's data.pkl may name beyond the allowlist: `__torch__` classes
 * (inert objects carrying their declaration from `<prefix>/code/`) and `torch.jit._pickle` helpers.
 */
export function torchScriptResolver(zip: ZipArchive, prefix: string, spend: (bytes: number, what: string) => void): GlobalResolver {
  const files = new Map<string, Map<string, ScriptClassDeclaration> | null>();
  const declarationsIn = (module: string): Map<string, ScriptClassDeclaration> | null => {
    if (files.has(module)) return files.get(module)!;
    const file = `${prefix}/code/${module.split('.').join('/')}.py`;
    let found: Map<string, ScriptClassDeclaration> | null = null;
    if (zip.has(file)) {
      const bytes = zip.read(file);
      if (bytes.length > MAX_SOURCE_BYTES) fail('E_CHECKPOINT', `${file} is ${bytes.length} bytes, more than TorchScript source plausibly holds`);
      spend(2 * bytes.length, `reading ${file}`);
      found = parseScriptDeclarations(utf8.decode(bytes), file);
    }
    files.set(module, found);
    return found;
  };
  const classes = new Map<string, SafeGlobal>();
  return (qualified) => {
    const jit = JIT_PICKLE_GLOBALS.get(qualified);
    if (jit) return jit;
    if (qualified !== '__torch__' && !qualified.startsWith('__torch__.')) return undefined;
    const known = classes.get(qualified);
    if (known) return known;
    const dot = qualified.lastIndexOf('.');
    const module = qualified.slice(0, dot);
    const name = qualified.slice(dot + 1);
    if (!module.split('.').every((p) => IDENTIFIER.test(p)) || !IDENTIFIER.test(name)) return undefined;
    const entry: SafeGlobal = {
      construct(args) {
        if (args.length !== 0) fail('E_CHECKPOINT', `TorchScript object ${qualified} is created with ${args.length} arguments; modules have none`);
        return new InertObject(module, name, declarationsIn(module)?.get(name) ?? null);
      },
    };
    classes.set(qualified, entry);
    return entry;
  };
}

/**
 * `torch.jit.load(path).state_dict()` of a module tree read from data.pkl: each module's declared
 * parameters and buffers (None ones left out), then its submodules', with dotted names; shared
 * submodules are visited per path, within a walk bounded by `fileBytes` (./walk-budget.ts).
 */
export function scriptStateDict(root: PyValue, fileBytes: number): Map<string, Tensor> {
  if (!(root instanceof InertObject)) fail('E_CHECKPOINT', `a TorchScript archive holds a module, this one holds ${describe(root)}`);
  const out = new Map<string, Tensor>();
  const onPath = new Set<InertObject>();
  const count = walkBudget(fileBytes, 'the module tree');
  const visit = (m: InertObject, prefix: string, depth: number): void => {
    count();
    const path = prefix === '' ? 'the root module' : prefix.slice(0, -1);
    const decl = m.declaration;
    if (!decl) {
      fail('E_CHECKPOINT', `${path} is an object of class ${m.qualifiedName}, which the archive's code/ does not declare as a module`,
        "only module trees are read; in Python: torch.save(torch.jit.load(path, map_location='cpu').state_dict(), 'weights.pt')");
    }
    if (onPath.has(m)) fail('E_CHECKPOINT', `${path} contains itself`);
    if (depth > MAX_DEPTH) fail('E_CHECKPOINT', `modules nested deeper than ${MAX_DEPTH}`);
    onPath.add(m);
    const own = new Set([...decl.parameters, ...decl.buffers]);
    for (const name of [...decl.parameters, ...decl.buffers]) {
      const v = m.attributes.get(name);
      if (v === undefined) fail('E_CHECKPOINT', `${path} declares ${name} but the pickle gives it no value`);
      if (v === null) continue;
      if (!(v instanceof Tensor)) fail('E_CHECKPOINT', `${prefix}${name} is ${describe(v)}, not a tensor`);
      count();
      out.set(prefix + name, v);
    }
    for (const [name, v] of m.attributes) if (!own.has(name) && v instanceof InertObject) visit(v, `${prefix}${name}.`, depth + 1);
    onPath.delete(m);
  };
  visit(root, '', 0);
  return out;
}
