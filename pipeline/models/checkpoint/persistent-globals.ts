/**
 * The two globals of NVIDIA stylegan2-ada-pytorch network pickles, read as data.
 *
 * `torch_utils.persistence` pickles a network object as
 * `_reconstruct_persistent_obj(dict(type='class', version=6, module_src=<source>, class_name=<name>,
 * state=<__dict__>))`. Python would `exec` module_src to get the class; we keep the source as text
 * and return the class name and state. `dnnlib.util.EasyDict` is a dict subclass (the networks'
 * init kwargs) and becomes a plain dict.
 */
import { fail } from '../../core/errors.ts';
import type { SafeGlobal } from './torch-globals.ts';
import { PersistentObject, describe } from './values.ts';
import type { PyDict } from './values.ts';

function reconstructPersistentObject(args: readonly unknown[]): PersistentObject {
  const meta = args[0];
  if (args.length !== 1 || !(meta instanceof Map)) {
    fail('E_CHECKPOINT', `_reconstruct_persistent_obj expects one dict, found ${args.length} arguments`);
  }
  const type = meta.get('type');
  const className = meta.get('class_name');
  const moduleSrc = meta.get('module_src');
  const version = meta.get('version');
  const state = meta.get('state') ?? new Map();
  if (type !== 'class') fail('E_CHECKPOINT', `persistent object of type ${describe(type)}, expected 'class'`);
  if (typeof className !== 'string' || typeof moduleSrc !== 'string' || typeof version !== 'number') {
    fail('E_CHECKPOINT', 'persistent object without class_name, module_src and version');
  }
  if (!(state instanceof Map)) {
    fail('E_CHECKPOINT', `persistent object ${className}: state is ${describe(state)}, expected a dict`);
  }
  return new PersistentObject(className, moduleSrc, version, state as PyDict);
}

function easyDict(args: readonly unknown[]): PyDict {
  if (args.length > 1 || (args.length === 1 && !(args[0] instanceof Map))) {
    fail('E_CHECKPOINT', `dnnlib.util.EasyDict of ${args.length} arguments`);
  }
  return new Map(args.length === 1 ? (args[0] as PyDict) : []);
}

export const PERSISTENT_GLOBALS: ReadonlyMap<string, SafeGlobal> = new Map<string, SafeGlobal>([
  ['torch_utils.persistence._reconstruct_persistent_obj', { call: reconstructPersistentObject }],
  ['dnnlib.util.EasyDict', { call: easyDict, construct: easyDict }],
]);
