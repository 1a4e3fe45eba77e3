/** Every command, in the order `--help` lists them. */
import type { Command } from '../command.ts';
import catalogue from './catalogue.ts';
import deltaT from './delta-t.ts';
import demo from './demo.ts';
import edit from './edit.ts';
import importClip from './import-clip.ts';
import importStylegan2 from './import-stylegan2.ts';
import merge from './merge.ts';
import modelsBuild from './models-build.ts';
import modelsList from './models-list.ts';
import relevance from './relevance.ts';
import render from './render.ts';
import siteBuild from './site-build.ts';
import siteServe from './site-serve.ts';
import tokenize from './tokenize.ts';

export const commands: readonly Command[] = [
  catalogue,
  deltaT,
  demo,
  edit,
  importClip,
  importStylegan2,
  merge,
  modelsBuild,
  modelsList,
  relevance,
  render,
  siteBuild,
  siteServe,
  tokenize,
];
