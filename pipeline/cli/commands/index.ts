/** Every command, in the order `--help` lists them. */
import type { Command } from '../command.ts';
import demo from './demo.ts';
import modelsBuild from './models-build.ts';
import modelsList from './models-list.ts';
import render from './render.ts';
import tokenize from './tokenize.ts';

export const commands: readonly Command[] = [
  demo,
  modelsBuild,
  modelsList,
  render,
  tokenize,
];
